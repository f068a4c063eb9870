// The visual composer. The circuit is a list of operations; the grid draws them left-aligned (each gate in the
// first column free on every wire it spans) and writes OpenQASM into the text box; typing in the text box sends the
// program to the server (POST /composer/state), whose parser gives the operations back for the grid and whose
// statevector engine gives the ideal probabilities. One parser, one engine: the page only draws.
"use strict";
(function () {
  const root = document.getElementById("composer");
  if (!root) return;
  const MAX_QUBITS = Number(root.dataset.maxQubits);
  const TWO = ["cx", "cz", "swap"];
  const ANGLED = ["rx", "ry", "rz"];
  const grid = document.getElementById("grid");
  const text = document.getElementById("composer-qasm");
  const hint = document.getElementById("composer-hint");
  const status = document.getElementById("composer-status");
  const submit = document.getElementById("composer-submit");
  const measureOffer = document.getElementById("composer-measure");
  const csrf = document.body.dataset.csrf;
  const state = {n: 2, ops: [], editable: true};
  let tool = null;
  let pending = null;  // the first qubit of a two-qubit gate being placed
  let sequence = 0;
  let typingTimer = null;

  function label(op) {
    if (op.name === "measure") return "M";
    const name = op.name.toUpperCase();
    return op.params.length ? name + "(" + op.params.join(",") + ")" : name;
  }

  function layout() {
    const free = new Array(state.n).fill(0);
    return state.ops.map((op) => {
      const low = Math.min(...op.qubits), high = Math.max(...op.qubits);
      let column = 0;
      for (let q = low; q <= high; q++) column = Math.max(column, free[q] || 0);
      for (let q = low; q <= high; q++) free[q] = column + 1;
      return column;
    });
  }

  function render() {
    const columns = layout();
    const width = Math.max(0, ...columns.map((c) => c + 1)) + 1;
    const cells = [];
    for (let q = 0; q < state.n; q++) cells.push(new Array(width).fill(null));
    state.ops.forEach((op, index) => {
      const column = columns[index];
      const low = Math.min(...op.qubits), high = Math.max(...op.qubits);
      for (let q = low; q <= high; q++) cells[q][column] = {index, role: "through", up: q > low, down: q < high};
      op.qubits.forEach((q, k) => {
        let role = "gate";
        if (op.name === "cx") role = k === 0 ? "control" : "target";
        else if (op.name === "cz") role = "control";
        else if (op.name === "swap") role = "swap";
        cells[q][column] = {index, role, up: q > low, down: q < high};
      });
    });
    grid.replaceChildren();
    for (let q = 0; q < state.n; q++) {
      const row = grid.insertRow();
      const head = document.createElement("th");
      head.scope = "row";
      head.textContent = "q[" + q + "]";
      row.appendChild(head);
      for (let column = 0; column < width; column++) {
        const td = row.insertCell();
        const button = document.createElement("button");
        button.type = "button";
        button.className = "cell";
        button.dataset.q = String(q);
        button.dataset.col = String(column);
        const cell = cells[q][column];
        if (cell) {
          const op = state.ops[cell.index];
          button.dataset.op = String(cell.index);
          button.dataset.gate = op.name;
          button.classList.add("role-" + cell.role);
          if (cell.up) button.classList.add("link-up");  // the vertical wire of a multi-qubit gate
          if (cell.down) button.classList.add("link-down");
          button.textContent = ({control: "●", target: "⊕", swap: "✕", through: ""})[cell.role] ?? label(op);
          button.setAttribute("aria-label", label(op) + " on q[" + op.qubits.join("], q[") + "]");
        } else {
          button.setAttribute("aria-label", "q[" + q + "], column " + (column + 1) + ": empty");
        }
        if (pending === q) button.classList.add("pending");
        td.appendChild(button);
      }
    }
    grid.classList.toggle("stale", !state.editable);
    document.getElementById("remove-qubit").disabled = state.n <= 1;
    document.getElementById("add-qubit").disabled = state.n >= MAX_QUBITS;
  }

  function toQasm() {
    const lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', "qreg q[" + state.n + "];", "creg c[" + state.n + "];"];
    for (const op of state.ops) {
      const qubits = op.qubits.map((q) => "q[" + q + "]").join(",");
      if (op.name === "measure") lines.push("measure " + qubits + " -> c[" + (op.clbits[0] ?? op.qubits[0]) + "];");
      else lines.push(op.name + (op.params.length ? "(" + op.params.join(",") + ")" : "") + " " + qubits + ";");
    }
    return lines.join("\n") + "\n";
  }

  function showProbabilities(answer) {
    const list = document.getElementById("probability-list");
    list.replaceChildren();
    document.getElementById("probabilities-over").textContent = answer.note || (answer.over ? "Over " + answer.over +
      (answer.more ? "; " + answer.more + " less likely outcomes not listed" : "") + "." : "");
    for (const item of answer.probabilities || []) {
      const li = document.createElement("li");
      li.dataset.outcome = item.outcome;
      li.dataset.probability = String(item.probability);
      const code = document.createElement("code");
      code.textContent = item.outcome;
      const bar = document.createElement("span");
      bar.className = "bar";
      const fill = document.createElement("span");
      fill.className = "fill";
      fill.style.width = (item.probability * 100).toFixed(2) + "%";  // CSSOM: allowed by the page's CSP
      bar.appendChild(fill);
      const value = document.createElement("span");
      value.className = "value";
      value.textContent = (item.probability * 100).toFixed(1) + "%";
      li.append(code, bar, value);
      list.appendChild(li);
    }
  }

  function ask(fromGrid) {
    const mine = ++sequence;
    status.textContent = "Checking…";
    status.className = "validation";
    fetch("/composer/state", {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify({qasm: text.value})})
      .then((response) => response.json().then((body) => ({ok: response.ok, body})))
      .then(({ok, body}) => {
        if (mine !== sequence) return;  // a newer edit is on its way
        if (!ok) {
          status.textContent = body.detail || "The server refused the request.";
          status.className = "validation bad";
          return;
        }
        if (!body.ok) {
          const where = body.error.line ? "Line " + body.error.line + ", column " + body.error.column + ": " : "";
          status.textContent = where + body.error.message;
          status.className = "validation bad";
          submit.disabled = true;
          measureOffer.hidden = true;
          state.editable = false;
          render();
          return;
        }
        // A job that measures nothing is refused (422): say so here and offer the measurements, not after submit.
        submit.disabled = !body.measures;
        measureOffer.hidden = body.measures;
        state.editable = body.representable;
        if (!fromGrid && body.representable) {
          state.n = Math.max(1, body.num_qubits);
          state.ops = body.ops;
          pending = null;
        }
        render();
        status.textContent = (body.representable ? "Valid: " + body.num_qubits + " qubits, " + body.ops.length + " operations."
          : "Valid, but the grid cannot show it (" + body.why + "); edit it as text.") +
          (body.measures ? "" : " It measures nothing, so a job would be refused: add measurements before submitting.");
        status.className = body.representable && body.measures ? "validation good" : "validation warn";
        showProbabilities(body);
      })
      .catch(() => { if (mine === sequence) { status.textContent = "Could not reach the server."; status.className = "validation bad"; } });
  }

  function changed() {
    text.value = toQasm();
    render();
    ask(true);
  }

  function choose(name) {
    tool = tool === name ? null : name;
    pending = null;
    for (const button of document.querySelectorAll(".gate-tool")) {
      button.setAttribute("aria-pressed", String(button.dataset.gate === tool));
    }
    hint.textContent = !tool ? "Pick a gate." : tool === "delete" ? "Click a placed gate to remove it."
      : TWO.includes(tool) ? "Click the control qubit's row, then the target's." : "Click a qubit's row to place " + tool.toUpperCase() + ".";
    render();
  }

  function place(name, q) {
    if (!state.editable) { hint.textContent = "The grid follows the text only while it can show it; edit the text."; return; }
    if (TWO.includes(name)) {
      if (pending === null) { pending = q; hint.textContent = "Now the target qubit's row."; render(); return; }
      if (pending === q) { pending = null; render(); return; }
      state.ops.push({name, params: [], qubits: [pending, q], clbits: []});
      pending = null;
      hint.textContent = "Placed " + name.toUpperCase() + ". Pick the control for another, or another gate.";
    } else {
      const angle = document.getElementById("gate-angle").value.trim() || "pi/2";
      state.ops.push({name, params: ANGLED.includes(name) ? [angle] : [], qubits: [q], clbits: name === "measure" ? [q] : []});
    }
    changed();
  }

  grid.addEventListener("click", (event) => {
    const button = event.target.closest("button.cell");
    if (!button) return;
    if (!tool) { hint.textContent = "Pick a gate first (or Delete, to remove one)."; return; }
    if (tool === "delete") {
      if (button.dataset.op === undefined || !state.editable) return;
      state.ops.splice(Number(button.dataset.op), 1);
      changed();
      return;
    }
    place(tool, Number(button.dataset.q));
  });
  grid.addEventListener("dragover", (event) => { if (event.target.closest("button.cell")) event.preventDefault(); });
  grid.addEventListener("drop", (event) => {
    const button = event.target.closest("button.cell");
    const name = event.dataTransfer.getData("text/x-xihe-gate");
    if (!button || !name || name === "delete") return;
    event.preventDefault();
    place(name, Number(button.dataset.q));
  });
  document.getElementById("palette").addEventListener("click", (event) => {
    const button = event.target.closest(".gate-tool");
    if (button) choose(button.dataset.gate);
  });
  document.getElementById("palette").addEventListener("dragstart", (event) => {
    const button = event.target.closest(".gate-tool");
    if (button) event.dataTransfer.setData("text/x-xihe-gate", button.dataset.gate);
  });
  document.getElementById("add-qubit").addEventListener("click", () => {
    if (state.editable && state.n < MAX_QUBITS) { state.n += 1; changed(); }
  });
  document.getElementById("remove-qubit").addEventListener("click", () => {
    if (!state.editable || state.n <= 1) return;
    const last = state.n - 1;
    state.ops = state.ops.filter((op) => !op.qubits.includes(last));
    state.n -= 1;
    changed();
  });
  document.getElementById("clear-grid").addEventListener("click", () => {
    if (!state.editable) { state.editable = true; }
    state.ops = [];
    changed();
  });
  document.getElementById("composer-measure-all").addEventListener("click", () => {
    if (state.editable) {
      for (let q = 0; q < state.n; q++) state.ops.push({name: "measure", params: [], qubits: [q], clbits: [q]});
      changed();
    } else {
      text.value = text.value.replace(/\s*$/, "\n") + "measure q -> c;\n";
      ask(false);
    }
  });
  text.addEventListener("input", () => {
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => ask(false), 350);
  });
  render();
  ask(false);
})();
