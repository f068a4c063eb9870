// The account page: copy a new token's secret to the clipboard (it is shown once).
"use strict";
(function () {
  const button = document.getElementById("copy-token");
  if (!button) return;
  const status = document.getElementById("copy-status");
  button.addEventListener("click", async () => {
    const secret = document.getElementById(button.dataset.copyFrom).textContent.trim();
    try {
      await navigator.clipboard.writeText(secret);
      status.textContent = "Copied.";
    } catch (err) {
      status.textContent = "Could not copy (" + err + "); select the token and copy it by hand.";
    }
  });
})();
