// Listen, whisper and barge from the routing board with one click (docs/console.md, "Supervisor
// monitoring"). The board is replaced whenever it changes, so the monitor in progress lives in a panel
// of its own outside it: the first click rings the supervisor's phone, a click on another mode of the
// same call switches mode, Stop ends it. Answers are JSON; a refusal shows its message.
(function () {
  "use strict";
  let current = null; // {sid, call, mode}
  const panel = document.createElement("p");
  panel.id = "monitor-panel";
  panel.setAttribute("role", "status");
  panel.hidden = true;

  function csrfToken() {
    const headers = document.body.getAttribute("hx-headers");
    try { return headers ? JSON.parse(headers)["X-CSRFToken"] : ""; } catch (e) { return ""; }
  }

  async function post(url, fields) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields),
      credentials: "same-origin",
    });
    const body = await response.json().catch(function () { return { message: response.statusText }; });
    if (!response.ok) { throw new Error(body.message || "Refused"); }
    return body;
  }

  function show(text) {
    panel.textContent = text + " ";
    panel.hidden = false;
    if (current) {
      const stop = document.createElement("button");
      stop.type = "button";
      stop.dataset.monitorStop = current.sid;
      stop.textContent = "Stop";
      panel.appendChild(stop);
    }
  }

  async function choose(call, mode) {
    try {
      if (current && current.call === call) {
        current = Object.assign(current, await post("/console/monitor/" + current.sid + "/mode", { mode: mode }));
      } else {
        if (current) { await post("/console/monitor/" + current.sid + "/stop", {}); }
        current = await post("/console/monitor/", { call: call, mode: mode });
        current.call = call;
      }
      show("Monitoring " + call + ": " + current.mode + " (your phone rings first).");
    } catch (error) {
      show(error.message);
    }
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-monitor-mode], [data-monitor-stop]");
    if (!button) { return; }
    if (button.dataset.monitorStop) {
      post("/console/monitor/" + button.dataset.monitorStop + "/stop", {})
        .then(function () { current = null; show("Monitoring stopped."); })
        .catch(function (error) { show(error.message); });
      return;
    }
    const group = button.closest("[data-monitor-call]");
    if (group) { choose(group.dataset.monitorCall, button.dataset.monitorMode); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    const board = document.getElementById("board");
    if (board) { board.parentNode.insertBefore(panel, board); }
  });
})();
