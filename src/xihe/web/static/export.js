// PNG export of a drawing: the page's own inline SVG is serialised, drawn on a canvas and saved. Nothing leaves the
// page (no chart service, no third-party script); the CSP allows data: images, which is how the SVG is loaded.
"use strict";
(function () {
  function svgToPng(svg, name) {
    const clone = svg.cloneNode(true);
    const box = svg.viewBox && svg.viewBox.baseVal && svg.viewBox.baseVal.width ? svg.viewBox.baseVal
      : {width: svg.clientWidth, height: svg.clientHeight};
    const scale = 2;  // sharp on high-density screens and in print
    clone.setAttribute("width", String(box.width));
    clone.setAttribute("height", String(box.height));
    const text = new XMLSerializer().serializeToString(clone);
    const image = new Image();
    image.onload = () => {
      const canvas = document.createElement("canvas");
      canvas.width = Math.ceil(box.width * scale);
      canvas.height = Math.ceil(box.height * scale);
      const context = canvas.getContext("2d");
      context.fillStyle = "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      canvas.toBlob((blob) => {
        const link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = name + ".png";
        document.body.appendChild(link);
        link.click();
        setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
      }, "image/png");
    };
    image.src = "data:image/svg+xml;base64," + btoa(unescape(encodeURIComponent(text)));
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.png");
    if (!button) return;
    const holder = document.getElementById(button.dataset.svg);
    const svg = holder && holder.querySelector("svg");
    if (svg) svgToPng(svg, button.dataset.name);
  });
})();
