// The circuit editor: line numbers, live validation (POST /editor/validate), the error shown at its line, the drawing.
"use strict";
(function () {
  const csrf = document.body.dataset.csrf;
  const text = document.getElementById("qasm");
  const gutter = document.getElementById("gutter");
  const band = document.getElementById("error-band");
  const caret = document.getElementById("error-caret");
  const status = document.getElementById("validation");
  const drawing = document.getElementById("drawing");
  const stats = document.getElementById("circuit-stats");
  const backend = document.getElementById("backend");
  const compile = document.getElementById("compile");
  const submit = document.getElementById("submit");
  let timer = null;
  let sequence = 0;
  let errorLine = null;
  let errorColumn = null;

  function lineHeight() {
    return parseFloat(getComputedStyle(text).lineHeight) || 18;
  }

  function renderGutter() {
    const lines = text.value.split("\n").length;
    const parts = [];
    for (let i = 1; i <= lines; i++) {
      parts.push('<span data-line="' + i + '"' + (i === errorLine ? ' class="error"' : "") + ">" + i + "</span>");
    }
    gutter.innerHTML = parts.join("");
    gutter.scrollTop = text.scrollTop;
    placeBand();
  }

  function placeBand() {
    if (errorLine === null) {
      band.hidden = true;
      return;
    }
    const top = (errorLine - 1) * lineHeight() + parseFloat(getComputedStyle(text).paddingTop) - text.scrollTop;
    band.style.top = top + "px";
    band.style.height = lineHeight() + "px";
    band.hidden = false;
    // The caret under the error's column: monospace, so column n starts n-1 character widths in.
    caret.hidden = errorColumn === null;
    if (errorColumn !== null) {
      const cw = charWidth();
      const left = parseFloat(getComputedStyle(text).paddingLeft) + (errorColumn - 0.5) * cw - text.scrollLeft;
      caret.style.left = left + "px";
      caret.style.top = (top + lineHeight() - 4) + "px";
      caret.dataset.column = String(errorColumn);
    }
  }

  function charWidth() {
    const probe = document.createElement("span");
    probe.textContent = "0000000000";
    probe.style.font = getComputedStyle(text).font;
    probe.style.visibility = "hidden";
    probe.style.position = "absolute";
    document.body.appendChild(probe);
    const width = probe.getBoundingClientRect().width / 10;
    probe.remove();
    return width || 8;
  }

  function show(answer) {
    errorLine = answer.error && answer.error.line ? answer.error.line : null;
    status.className = "validation";
    if (answer.error) {
      const where = answer.error.line ? "Line " + answer.error.line + ", column " + answer.error.column + ": " : "";
      status.textContent = where + answer.error.message;
      status.classList.add("bad");
      status.dataset.line = answer.error.line || "";
    } else if (answer.backend_error) {
      status.textContent = "Parses, but not for " + backend.value + ": " + answer.backend_error;
      status.classList.add("warn");
      status.dataset.line = "";
    } else {
      status.textContent = "Valid OpenQASM 2.0 for " + backend.value + ".";
      status.classList.add("good");
      status.dataset.line = "";
    }
    // A program the chosen backend refuses would only come back as a 422: keep Submit off until it fits.
    submit.disabled = Boolean(answer.error || answer.backend_error);
    errorColumn = answer.error && answer.error.column ? answer.error.column : null;
    drawing.classList.toggle("stale", Boolean(answer.error));  // the last good drawing, dimmed
    if (answer.stats) {
      const s = answer.stats;
      stats.textContent = s.qubits + " qubits, " + s.clbits + " classical bits, " + s.operations + " operations, depth " +
        s.depth + (s.parameters.length ? ", parameters " + s.parameters.join(", ") : "");
    }
    if (answer.svg) {
      drawing.innerHTML = answer.svg;  // drawn by the server from the parsed circuit; labels are escaped there
    } else if (answer.stats) {
      drawing.textContent = "Too many operations to draw.";
    }
    renderGutter();
  }

  async function validate() {
    const mine = ++sequence;
    status.textContent = "Checking…";
    try {
      const response = await fetch("/editor/validate", {
        method: "POST",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
        body: JSON.stringify({qasm: text.value, backend: backend.value, compile: compile.checked}),
        credentials: "same-origin",
      });
      if (mine !== sequence) return;  // a newer check is on its way
      if (response.status === 401) {
        status.textContent = "Your session ended; log in again.";
        return;
      }
      show(await response.json());
    } catch (err) {
      if (mine === sequence) status.textContent = "Could not check the program: " + err;
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(validate, 250);
  }

  text.addEventListener("input", () => { renderGutter(); schedule(); });
  text.addEventListener("scroll", () => { gutter.scrollTop = text.scrollTop; placeBand(); });
  // Tab indents (two spaces) instead of leaving the box; Escape then Tab moves on, for keyboard users.
  let escaped = false;
  text.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { escaped = true; return; }
    if (event.key !== "Tab" || event.shiftKey || escaped || event.ctrlKey || event.altKey || event.metaKey) {
      escaped = false;
      return;
    }
    event.preventDefault();
    const start = text.selectionStart;
    text.setRangeText("  ", start, text.selectionEnd, "end");
    text.dispatchEvent(new Event("input"));
  });
  backend.addEventListener("change", validate);
  compile.addEventListener("change", validate);
  const example = document.getElementById("example");
  example.addEventListener("change", () => {
    const chosen = example.selectedOptions[0];
    if (!chosen || !chosen.dataset.qasm) return;
    text.value = chosen.dataset.qasm;
    renderGutter();
    validate();
  });
  renderGutter();
  validate();
})();
