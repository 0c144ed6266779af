// The agent console (contactcenter/console_views.py; its websocket's messages are in docs/console.md).
// Everything shown comes from the server's state: the page's first one, then each one the socket
// sends (after a reconnect too) and each answer to an action; nothing is kept only here but what is
// being typed, and the wrap-up form as typed is saved to the server as a draft. The newest console
// of an agent is the active one (it starts the softphone); an older one says it is inactive.
(function () {
  "use strict";
  const root = document.getElementById("console");
  if (!root) return;
  const csrf = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  const template = document.getElementById("reservation-template");
  const list = document.getElementById("reservations");
  const popBody = document.getElementById("pop-body");
  const activity = document.getElementById("activity");
  const help = document.getElementById("help");
  let state = JSON.parse(document.getElementById("console-state").textContent);
  let isActive = true;
  let selected = null;  // the reservation whose customer the pop shows
  let socket = null;
  let muted = false;
  let softphoneStarted = false;
  window.consoleRings = [];  // each ring's arrival, for tests and bench/console

  // ---- ringing: a two-tone ring in the page while an offer is pending, and the card pulses ----
  let audio = null, ringTimer = null;
  function ringOnce() {
    try {
      audio = audio || new AudioContext();
      const gain = audio.createGain();
      gain.gain.value = 0.1;
      gain.connect(audio.destination);
      for (const frequency of [440, 480]) {
        const tone = audio.createOscillator();
        tone.frequency.value = frequency;
        tone.connect(gain);
        tone.start();
        tone.stop(audio.currentTime + 0.8);
      }
    } catch (error) { /* no audio device: the visual ring remains */ }
  }
  function setRinging(on) {
    root.dataset.ringing = on ? "true" : "false";
    if (on && ringTimer === null) { ringOnce(); ringTimer = setInterval(ringOnce, 2000); }
    if (!on && ringTimer !== null) { clearInterval(ringTimer); ringTimer = null; }
  }

  // ---- actions: POSTs answered with the fresh state, or an error in Twilio's format ----
  function post(url, data, card) {
    const error = card ? card.querySelector(".error") : null;
    if (error) error.textContent = "";
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(data || {}),
    }).then(function (response) {
      return response.json().then(function (body) {
        if (response.ok) { render(body); return true; }
        if (error) error.textContent = body.message || "That did not work.";
        else alert(body.message || "That did not work.");
        return false;
      });
    });
  }
  // Call control (/console/calls/<CallSid>/<action>) answers 202 with what it sent, not a state:
  // the state follows over the socket as the call and its task change.
  function callControl(callSid, action, data, card) {
    const error = card.querySelector(".error");
    error.textContent = "";
    fetch("/console/calls/" + callSid + "/" + action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(data),
    }).then(function (response) {
      // A refusal is Twilio's JSON error; anything else (a 404 page where no call control is served,
      // a proxy's error page) must still say that the action failed rather than throw.
      if (!response.ok) response.json().then(function (body) { error.textContent = body.message; }, function () {
        error.textContent = "Call control is not available (HTTP " + response.status + ").";
      });
    }, function () { error.textContent = "The server did not answer; try again."; });
  }
  function reservationUrl(sid, action) { return "/console/reservations/" + sid + "/" + action + "/"; }

  // ---- rendering ----
  function options(select, items, value, blank) {
    const wanted = JSON.stringify(items.map(function (a) { return a.sid; })) + blank;
    if (select.dataset.items !== wanted) {
      select.textContent = "";
      if (blank) select.append(new Option(blank, ""));
      for (const item of items) select.append(new Option(item.name, item.sid));
      select.dataset.items = wanted;
    }
    if (document.activeElement !== select && value !== undefined) select.value = value;
  }
  function defaultAfter() {  // after rejecting or wrapping up: stay as one is (an agent who wants a
    return state.worker.activity_sid;  // break picks it; defaulting to Offline took agents off the floor)
  }
  function away() {  // the availability switch's off position: the first unavailable activity
    const activity = state.activities.find(function (a) { return !a.available; });
    return activity ? activity.sid : "";
  }
  function fillOnce(field, value) {  // a draft fills a field nobody is typing in
    if (document.activeElement !== field && !field.dataset.touched) field.value = value || "";
  }

  function card(reservation) {
    let element = list.querySelector('[data-reservation="' + reservation.sid + '"]');
    if (element) return element;
    element = template.content.firstElementChild.cloneNode(true);
    element.dataset.reservation = reservation.sid;
    element.dataset.task = reservation.task_sid;
    element.addEventListener("click", function () { select(reservation.sid); });
    element.querySelector(".accept").addEventListener("click", function () { accept(reservation.sid); });
    element.querySelector(".reject").addEventListener("click", function () { reject(reservation.sid); });
    element.querySelector(".hangup").addEventListener("click", hangup);
    element.querySelector(".mute").addEventListener("click", toggleMute);
    for (const button of element.querySelectorAll("[data-call]")) {
      button.addEventListener("click", function () {
        const found = find(reservation.sid);
        const form = element.querySelector(".transfer");
        const data = button.dataset.call === "transfer" ? Object.fromEntries(new FormData(form)) : {};
        if (found && found.call_sid) callControl(found.call_sid, button.dataset.call, data, element);
      });
    }
    const reply = element.querySelector("form.reply");
    reply.addEventListener("submit", function (event) {
      event.preventDefault();
      const body = reply.querySelector(".reply-body");
      post(reservationUrl(reservation.sid, "reply"), { body: body.value }, element).then(function (ok) {
        if (ok) body.value = "";
      });
    });
    const wrapup = element.querySelector("form.wrapup");
    let draftTimer = null;
    wrapup.addEventListener("input", function (event) {
      event.target.dataset.touched = "true";
      clearTimeout(draftTimer);
      draftTimer = setTimeout(function () { saveDraft(reservation.sid, wrapup); }, 300);
    });
    wrapup.addEventListener("change", function () { saveDraft(reservation.sid, wrapup); });
    wrapup.addEventListener("submit", function (event) {
      event.preventDefault();
      post(reservationUrl(reservation.sid, "wrapup"), Object.fromEntries(new FormData(wrapup)), element);
    });
    list.append(element);
    return element;
  }

  function saveDraft(sid, form) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const data = Object.fromEntries(new FormData(form));
    socket.send(JSON.stringify(Object.assign({ type: "draft", reservation_sid: sid }, data)));
  }

  function update(element, reservation) {
    const pending = reservation.status === "pending";
    const working = reservation.status === "accepted" || reservation.status === "wrapping";
    element.querySelector(".customer").textContent = reservation.customer || "Unknown customer";
    element.querySelector(".channel").textContent = reservation.channel;
    element.querySelector(".status").textContent = pending ? "ringing" : reservation.status;
    element.classList.toggle("ringing", pending);
    element.dataset.status = reservation.status;
    element.querySelector(".offer").hidden = !pending;
    // Call control acts on an accepted reservation's live call: once it wraps up there is none.
    const voice = reservation.channel === "voice";
    element.querySelector(".call-controls").hidden = !(voice && reservation.status === "accepted");
    element.querySelector("form.reply").hidden = !(working && reservation.conversation_sid && !voice);
    // A call is wrapped up once it has ended (wrapping); completing it mid-call would end the task under
    // a caller still talking. A text is wrapped up whenever the agent is done with the thread.
    element.querySelector("form.wrapup").hidden = voice ? reservation.status !== "wrapping" : !working;
    options(element.querySelector(".reject-activity"), state.activities, defaultAfter(), "");
    const draft = state.drafts[reservation.sid] || {};
    const disposition = element.querySelector(".disposition");
    options(disposition, state.dispositions.map(function (code) { return { sid: code, name: code }; }),
      undefined, "Choose…");
    fillOnce(disposition, draft.disposition);
    fillOnce(element.querySelector(".notes"), draft.notes);
    const after = element.querySelector(".after-activity");
    options(after, state.activities, undefined, "");
    fillOnce(after, draft.activity_sid === undefined ? defaultAfter() : draft.activity_sid);
  }

  function find(sid) {
    return state.reservations.find(function (r) { return r.sid === sid; }) || null;
  }

  function select(sid) {
    selected = sid;
    const reservation = find(sid);
    for (const element of list.children) element.classList.toggle("selected", element.dataset.reservation === sid);
    if (reservation && popBody.dataset.reservation !== sid + reservation.history_html.length) {
      popBody.innerHTML = reservation.history_html;  // rendered (and escaped) by the server
      popBody.dataset.reservation = sid + reservation.history_html.length;
      popBody.classList.remove("muted");
    }
  }

  function render(next) {
    state = next;
    const worker = state.worker;
    root.dataset.activity = worker.activity_name;
    root.dataset.available = worker.available ? "true" : "false";
    options(activity, state.activities, worker.activity_sid, "");
    document.getElementById("activity-since").textContent = "since " + new Date(worker.since * 1000).toLocaleTimeString();
    const sids = state.reservations.map(function (r) { return r.sid; });
    for (const element of Array.from(list.children)) {
      if (!sids.includes(element.dataset.reservation)) element.remove();
    }
    for (const reservation of state.reservations) update(card(reservation), reservation);
    const idle = document.getElementById("idle");
    idle.hidden = state.reservations.length > 0;
    // "Go available" read as an instruction to an agent who already was: say what is happening instead
    idle.textContent = worker.available
      ? "Nothing offered yet: you are available, and a task rings here."
      : "Nothing offered. Go available to take tasks.";
    const ringing = state.reservations.find(function (r) { return r.status === "pending"; });
    if (ringing && !find(selected || "")) selected = ringing.sid;
    if (!find(selected || "")) selected = sids.length ? sids[0] : null;
    if (ringing && find(selected).status !== "pending") selected = ringing.sid;
    if (selected) select(selected);
    else if (popBody.dataset.reservation) {
      popBody.textContent = "The customer's history shows here when a task rings.";
      popBody.classList.add("muted");
      delete popBody.dataset.reservation;
    }
    setRinging(Boolean(ringing));
    const rows = document.getElementById("recent-rows");
    rows.textContent = "";
    for (const task of state.recent) {
      const row = rows.insertRow();
      row.dataset.task = task.task_sid;
      for (const text of [task.task_sid, task.channel, task.customer, task.status]) {
        row.insertCell().textContent = text;
      }
      row.cells[0].title = task.task_sid;  // the cell shows its start only
    }
  }

  // ---- what the agent does ----
  function current(status) {
    const chosen = find(selected || "");
    if (chosen && (!status || status.includes(chosen.status))) return chosen;
    return state.reservations.find(function (r) { return !status || status.includes(r.status); }) || null;
  }
  function accept(sid) {
    post(reservationUrl(sid, "accept"), {}, list.querySelector('[data-reservation="' + sid + '"]'));
  }
  function reject(sid) {
    const element = list.querySelector('[data-reservation="' + sid + '"]');
    post(reservationUrl(sid, "reject"), { activity_sid: element.querySelector(".reject-activity").value }, element);
  }
  function setActivity(sid) { post("/console/activity/", { activity_sid: sid }); }
  function toggleAvailability() {
    const wanted = state.activities.find(function (a) { return a.available !== state.worker.available; });
    if (wanted) setActivity(state.worker.available ? away() : wanted.sid);
  }
  function hangup() { if (window.Softphone) window.Softphone.hangup(); }
  function toggleMute() {
    muted = !muted;
    root.dataset.muted = muted ? "true" : "false";
    if (window.Softphone) window.Softphone.mute(muted);
  }
  function focusIn(selector) {
    const chosen = current(["accepted", "wrapping"]);
    const element = chosen && list.querySelector('[data-reservation="' + chosen.sid + '"] ' + selector);
    if (element && !element.closest("[hidden]")) element.focus();
  }
  function showHelp(on) {
    help.hidden = !on;
    if (on) document.getElementById("help-close").focus();
  }

  activity.addEventListener("change", function () { setActivity(activity.value); });
  document.getElementById("help-open").addEventListener("click", function () { showHelp(true); });
  document.getElementById("help-close").addEventListener("click", function () { showHelp(false); });
  document.getElementById("activate").addEventListener("click", function () {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "activate" }));
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { showHelp(false); if (document.activeElement) document.activeElement.blur(); return; }
    const typing = event.target.matches("input, textarea, select");
    if (typing) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.form) {
        event.preventDefault();
        event.target.form.requestSubmit();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const ringing = current(["pending"]);
    const actions = {
      "a": function () { if (ringing) accept(ringing.sid); },
      "r": function () { if (ringing) reject(ringing.sid); },
      "h": hangup,
      "m": toggleMute,
      "v": toggleAvailability,
      "/": function () { focusIn(".reply-body"); },
      "w": function () { focusIn(".disposition"); },
      "?": function () { showHelp(help.hidden); },
    };
    if (actions[event.key]) { event.preventDefault(); actions[event.key](); }
  });

  // ---- the live socket: state on connect and on every change; rings as they happen ----
  // The softphone (templates/contactcenter/partials/softphone.html)
  // registers from the active console only (one registration per worker); it answers by itself a
  // call carrying a reservation this console accepted.
  const phone = window.Softphone && document.querySelector("[data-softphone-root]");
  if (phone) {
    window.Softphone.on("incoming", function (_session, reservationSid) {
      const reservation = reservationSid && find(reservationSid);
      if (isActive && reservation && reservation.channel === "voice") window.Softphone.answer();
    });
    window.Softphone.on("ended", function () { muted = false; root.dataset.muted = "false"; });
  }
  function setActive(on) {
    isActive = on;
    root.dataset.active = on ? "true" : "false";
    document.getElementById("superseded").hidden = on;
    if (!phone || on === softphoneStarted) return;
    softphoneStarted = on;
    // A refusal (no media server, say) shows on the phone's own light; taking over again retries.
    if (on) window.Softphone.start(phone.dataset.credentialsUrl).catch(function () { softphoneStarted = false; });
    else window.Softphone.stop();
  }

  function connect(pause) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(scheme + "://" + location.host + root.dataset.socket);
    const connection = document.getElementById("connection");
    socket.onopen = function () {
      root.dataset.live = "open";
      connection.textContent = "live";
      pause = 500;
    };
    socket.onmessage = function (event) {
      const message = JSON.parse(event.data);
      if (message.type === "ring") {
        window.consoleRings.push({ reservation_sid: message.reservation_sid, at: Date.now() / 1000, sent: message.now });
        setRinging(true);
      } else if (message.type === "superseded") {
        setActive(false);
      } else if (message.type === "state") {
        setActive(message.active);
        render(message);
      }
    };
    socket.onclose = function (event) {
      root.dataset.live = "closed";
      connection.textContent = "reconnecting…";
      // The session ended (reloading signs in again), or this member no longer works as a worker.
      if (event.code === 4401 || event.code === 4403 || event.code === 4404) {
        connection.textContent = "closed: reload the page";
        return;
      }
      setTimeout(function () { connect(Math.min(pause * 2, 10000)); }, pause);
    };
  }
  render(state);
  connect(500);
})();
