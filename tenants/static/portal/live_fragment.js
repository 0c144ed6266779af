// A page's live part (tenants/live_fragments.py): the element with [data-live-socket] shows each
// fragment its websocket sends, unless a control in it has focus (a supervisor choosing an activity):
// then it waits until focus leaves. Every [data-since] instant inside shows the time since it,
// ticking each second on the server's clock. [data-live] says whether the socket is open.
(function () {
  const live = document.querySelector("[data-live-socket]");
  if (!live) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  let offset = Number(live.dataset.now) - Date.now() / 1000;  // server clock minus the browser's
  let waiting = null;

  function duration(seconds) {
    const total = Math.max(0, Math.floor(seconds));
    const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    const pad = function (n) { return String(n).padStart(2, "0"); };
    return h ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  }

  function tick() {
    const now = Date.now() / 1000 + offset;
    for (const cell of live.querySelectorAll("[data-since]")) {
      cell.textContent = duration(now - Number(cell.dataset.since));
    }
  }

  function busy() {
    return live.contains(document.activeElement) && document.activeElement.matches("select, input, button");
  }

  function show(html) {
    if (busy()) {
      waiting = html;
      return;
    }
    waiting = null;
    live.innerHTML = html;
    htmx.process(live);
    tick();
  }

  live.addEventListener("focusout", function () {
    setTimeout(function () { if (waiting !== null) show(waiting); }, 0);
  });
  live.addEventListener("htmx:afterSwap", tick);  // a fragment a form inside it answered with

  function connect(pause) {
    const socket = new WebSocket(scheme + "://" + location.host + live.dataset.liveSocket);
    socket.onopen = function () {
      live.dataset.live = "open";
      pause = 500;
    };
    socket.onmessage = function (event) {
      const message = JSON.parse(event.data);
      offset = message.now - Date.now() / 1000;
      show(message.fragment);
    };
    socket.onclose = function (event) {
      live.dataset.live = "closed";
      // The session ended (reloading signs in again), or what it shows is not this account's or is gone.
      if (event.code === 4401 || event.code === 4403 || event.code === 4404) return;
      setTimeout(function () { connect(Math.min(pause * 2, 10000)); }, pause);
    };
  }
  tick();
  setInterval(tick, 1000);
  connect(500);
})();
