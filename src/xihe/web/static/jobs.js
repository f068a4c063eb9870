// Live job status: the job list and the job page poll small JSON documents until every job shown is finished.
"use strict";
(function () {
  const TERMINAL = ["DONE", "FAILED", "CANCELLED"];
  const INTERVAL_MS = 1000;

  function setBadge(badge, status) {
    badge.textContent = status;
    badge.dataset.status = status;
    badge.className = badge.className.replace(/status-\w+/, "status-" + status.toLowerCase());
  }

  function pollList(table) {
    const rows = Array.from(table.querySelectorAll("tr[data-job]"));
    const open = rows.filter((row) => !TERMINAL.includes(row.querySelector(".job-status").dataset.status));
    if (!open.length) return;
    const ids = open.map((row) => row.dataset.job).join(",");
    fetch("/jobs/status.json?ids=" + encodeURIComponent(ids), {credentials: "same-origin"})
      .then((response) => response.ok ? response.json() : {items: []})
      .then((body) => {
        for (const item of body.items) {
          const row = table.querySelector('tr[data-job="' + item.id + '"]');
          if (!row) continue;
          setBadge(row.querySelector(".job-status"), item.status);
          row.querySelector(".queue-note").textContent =
            item.queue_position === null ? "" : "#" + (item.queue_position + 1) + " in queue";
          if (item.finished_at) row.querySelector(".finished").textContent = item.finished_at.slice(0, 19).replace("T", " ");
        }
      })
      .catch(() => {})
      .finally(() => setTimeout(() => pollList(table), INTERVAL_MS));
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
  if (table) pollList(table);
  const section = document.getElementById("job");
  if (section && section.dataset.terminal === "false") setTimeout(() => pollJob(section), INTERVAL_MS / 2);
})();
