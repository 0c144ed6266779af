// A bulk alert's page: the counts pushed over the websocket (messaging/consumers.py) move the progress
// bar; once the bulk is no longer sending, the recipients' table is fetched again with final statuses.
(function () {
  const card = document.getElementById("bulk-progress-card");
  if (!card) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  let wasSending = card.dataset.status === "sending";

  function show(progress) {
    document.getElementById("bulk-progress").value = progress.percent;
    document.getElementById("bulk-percent").textContent = progress.percent + " %";
    document.getElementById("bulk-status").textContent = progress.status;
    for (const cell of card.querySelectorAll("[data-count]")) {
      cell.textContent = String(progress[cell.dataset.count]);
    }
    card.dataset.status = progress.status;
    if (wasSending && progress.status !== "sending") {
      wasSending = false;
      for (const form of card.querySelectorAll("form")) form.remove();  // nothing left to cancel
      htmx.ajax("GET", card.dataset.recipientsUrl, { target: "#recipients", swap: "outerHTML" });
    }
  }

  function connect(pause) {
    const socket = new WebSocket(scheme + "://" + location.host + card.dataset.socket);
    socket.onopen = function () {
      card.dataset.live = "open";
      pause = 500;
    };
    socket.onmessage = function (event) {
      show(JSON.parse(event.data));
    };
    socket.onclose = function (event) {
      card.dataset.live = "closed";
      if (event.code === 4401) return;  // the session ended: reloading the page signs in again
      setTimeout(function () { connect(Math.min(pause * 2, 10000)); }, pause);
    };
  }
  connect(500);
})();
