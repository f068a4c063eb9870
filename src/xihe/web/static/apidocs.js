// Starts the packaged Swagger UI or ReDoc on the page's OpenAPI document (no inline script, no CDN).
"use strict";
(function () {
  var swagger = document.getElementById("swagger-ui");
  if (swagger && window.SwaggerUIBundle) {
    window.SwaggerUIBundle({
      url: swagger.dataset.openapiUrl,
      dom_id: "#swagger-ui",
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      deepLinking: false,  // deep links put an <a> inside each operation's toggle button (axe: nested-interactive)
      validatorUrl: null  // the default badge asks validator.swagger.io: nothing may leave this origin
    });
  }
  var redoc = document.getElementById("redoc");
  if (redoc && window.Redoc) {
    window.Redoc.init(redoc.dataset.openapiUrl, {hideDownloadButton: false}, redoc);
  }
})();
