// Forms marked data-confirm="question" (cancel a job, revoke a token) ask before they post; tables that scroll
// sideways (on a phone) can be reached and scrolled with the keyboard.
"use strict";
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) event.preventDefault();
});

function makeScrollersFocusable() {
  for (const table of document.querySelectorAll("table.grid")) {
    if (table.scrollWidth > table.clientWidth + 1) {
      table.tabIndex = 0;
    } else if (table.getAttribute("tabindex") === "0") {
      table.removeAttribute("tabindex");
    }
  }
}
document.addEventListener("DOMContentLoaded", makeScrollersFocusable);
window.addEventListener("resize", makeScrollersFocusable);
