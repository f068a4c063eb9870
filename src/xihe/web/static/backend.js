// A backend page: a click or tap on a qubit or coupler of the chip (or a pick from the list, for keyboards) loads
// its panel, an HTML fragment the server renders with the figures now and their calibration history. Choosing
// a colour metric redraws the chip at once.
"use strict";
(function () {
  const chip = document.getElementById("topology");
  const body = document.getElementById("panel-body");
  const picker = document.getElementById("panel-qubit");
  const metric = document.getElementById("metric");
  if (metric) metric.addEventListener("change", () => document.getElementById("metric-form").submit());
  if (!chip || !body) return;
  const base = "/backends/" + encodeURIComponent(chip.dataset.backend);

  function mark(selector) {
    for (const old of chip.querySelectorAll(".selected")) old.classList.remove("selected");
    const found = selector && chip.querySelector(selector);
    if (found) found.classList.add("selected");
  }

  function load(path, selector) {
    body.setAttribute("aria-busy", "true");
    fetch(base + path, {credentials: "same-origin"})
      .then((response) => response.text().then((text) => ({ok: response.ok, text})))
      .then(({ok, text}) => {
        const doc = new DOMParser().parseFromString(text, "text/html");
        const fragment = doc.querySelector(".chip-panel-body");  // server-rendered and escaped
        body.replaceChildren(fragment && ok ? document.importNode(fragment, true)
          : Object.assign(document.createElement("p"), {className: "error", textContent: "Could not load the panel."}));
        mark(selector);
      })
      .finally(() => body.removeAttribute("aria-busy"));
  }

  function showQubit(q) {
    if (picker) picker.value = String(q);
    load("/qubits/" + q, 'g.qubit[data-qubit="' + q + '"]');
  }

  chip.addEventListener("click", (event) => {
    const qubit = event.target.closest("g.qubit");
    if (qubit) { showQubit(qubit.dataset.qubit); return; }
    const coupler = event.target.closest("line.coupler.working");
    if (coupler) load("/couplers/" + coupler.dataset.pair, 'line.coupler[data-pair="' + coupler.dataset.pair + '"]');
  });
  if (picker) picker.addEventListener("change", () => { if (picker.value !== "") showQubit(picker.value); });
  body.addEventListener("click", (event) => {
    const link = event.target.closest("a.panel-link");
    if (!link) return;
    event.preventDefault();
    showQubit(link.dataset.qubit);
  });
})();
