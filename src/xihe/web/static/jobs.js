// Live jobs. The list long-polls /jobs/updates.json: new jobs are added at the top (first page, newest first) and
// shown jobs change status in place, without a reload. Rows can be selected for one "Cancel selected" POST. The job
// page polls its own status until the job finishes, then reloads once for the results.
"use strict";
(function () {
  const TERMINAL = ["DONE", "FAILED", "CANCELLED"];
  const INTERVAL_MS = 1000;
  const WAIT_S = 20;

  function setBadge(badge, status) {
    badge.textContent = status;
    badge.dataset.status = status;
    badge.className = badge.className.replace(/status-\w+/, "status-" + status.toLowerCase());
  }

  function openRows(table) {
    return Array.from(table.querySelectorAll("tbody tr[data-job]"))
      .filter((row) => !TERMINAL.includes(row.querySelector(".job-status").dataset.status));
  }

  function applyChange(table, item) {
    const row = table.querySelector('tr[data-job="' + item.id + '"]');
    if (!row) return;
    const badge = row.querySelector(".job-status");
    setBadge(badge, item.status);
    badge.dataset.state = item.state;
    row.querySelector(".queue-note").textContent =
      item.queue_position === null ? "" : "#" + (item.queue_position + 1) + " in queue" + (item.starts ? ", " + item.starts : "");
    if (item.finished_at) row.querySelector(".finished").textContent = item.finished_at.slice(0, 19).replace("T", " ");
    if (item.terminal) {
      const pick = row.querySelector(".pick-job");
      pick.checked = false;
      pick.disabled = true;
    }
  }

  function addRows(table, rows) {
    const body = table.querySelector("tbody");
    const template = document.createElement("template");
    for (const item of rows.slice().reverse()) {  // oldest first, each on top: newest ends first
      if (table.querySelector('tr[data-job="' + item.id + '"]')) continue;
      template.innerHTML = item.html.trim();  // server-rendered by the page's own row template (escaped)
      const row = template.content.firstElementChild;
      row.classList.add("fresh");
      body.insertBefore(row, body.firstChild);
      if (item.created_at > table.dataset.newest) table.dataset.newest = item.created_at;
    }
    const empty = document.getElementById("no-jobs");
    if (empty && body.children.length) empty.hidden = true;
  }

  function followList(table) {
    const known = openRows(table).map((row) => row.dataset.job + "=" + row.querySelector(".job-status").dataset.state);
    const params = new URLSearchParams(table.dataset.query);
    params.set("wait", String(WAIT_S));
    params.set("known", known.join(","));
    if (table.dataset.liveNew === "true") params.set("after", table.dataset.newest || new Date(0).toISOString());
    let delay = 0;
    fetch("/jobs/updates.json?" + params.toString(), {credentials: "same-origin"})
      .then((response) => {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then((body) => {
        addRows(table, body.new);
        for (const item of body.changed) applyChange(table, item);
        updateSelection();
      })
      .catch(() => { delay = 5000; })
      .finally(() => setTimeout(() => followList(table), delay));
  }

  function updateSelection() {
    const form = document.getElementById("bulk-cancel");
    if (!form) return;
    const picked = document.querySelectorAll(".pick-job:checked").length;
    document.getElementById("cancel-selected").disabled = picked === 0;
    document.getElementById("selected-count").textContent = picked ? picked + " selected" : "";
    form.dataset.confirm = "Cancel " + picked + " selected job" + (picked === 1 ? "" : "s") + "? This cannot be undone.";
  }

  function pollJob(section) {
    fetch("/jobs/" + encodeURIComponent(section.dataset.job) + "/status.json", {credentials: "same-origin"})
      .then((response) => response.ok ? response.json() : null)
      .then((item) => {
        if (!item) return;
        setBadge(document.getElementById("job-status"), item.status);
        const info = document.getElementById("queue-info");
        if (item.status === "QUEUED" && item.queue_position !== null) {
          info.textContent = "position " + (item.queue_position + 1) + " in the queue: " + (item.queue_text || "");
        } else if (item.status === "RUNNING") {
          info.textContent = "running since " + (item.started_at || "").slice(11, 19) + " UTC";
        }
        if (item.terminal) {
          window.location.reload();  // the finished page carries the histogram, counts and layout
          return "stop";
        }
      })
      .catch(() => {})
      .then((stop) => { if (stop !== "stop") setTimeout(() => pollJob(section), INTERVAL_MS); });
  }

  const table = document.getElementById("jobs");
  if (table) {
    document.addEventListener("change", (event) => {
      if (event.target.id === "pick-all") {
        for (const box of table.querySelectorAll(".pick-job:not(:disabled)")) box.checked = event.target.checked;
      }
      updateSelection();
    });
    updateSelection();
    followList(table);
  }
  const section = document.getElementById("job");
  if (section && section.dataset.terminal === "false") setTimeout(() => pollJob(section), INTERVAL_MS / 2);
})();
