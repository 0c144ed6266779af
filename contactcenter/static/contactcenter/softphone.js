// The browser softphone: JsSIP registered with the media server over WSS, one call at a time.
//
// API for the pages that host it (the agent console, /console/phone/):
//   Softphone.start(credentialsUrl) -> Promise (fetches fresh credentials, registers)
//   Softphone.on(name, handler): "registered", "unregistered" (cause), "incoming" (session,
//     reservationSid: the X-Switchboard-Reservation of a call the agent already accepted, else ""),
//     "answered" (session), "ended" (cause)
//   Softphone.answer(), .hangup(), .mute(bool), .dtmf(digit); .session and .muted for the state.
// The partial templates/contactcenter/partials/softphone.html wires its buttons to these; with
// data-autostart on it, the phone starts when the page loads.
"use strict";

(function () {
  const RESERVATION_HEADER = "X-Switchboard-Reservation";
  const handlers = {};
  let ua = null;

  function emit(name, ...args) {
    for (const handler of handlers[name] || []) {
      try {
        handler(...args);
      } catch (error) {
        console.error("softphone handler", name, error);
      }
    }
  }

  function csrfToken() {
    const element = document.querySelector("[data-csrf-token]");
    return element ? element.dataset.csrfToken : "";
  }

  async function fetchCredentials(url) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    });
    const body = await response.json();
    if (!response.ok) {
      throw new Error(body.message || `credentials refused (${response.status})`);
    }
    return body;
  }

  const Softphone = {
    session: null,
    muted: false,
    credentials: null,

    on(name, handler) {
      (handlers[name] = handlers[name] || []).push(handler);
      return Softphone;
    },

    async start(credentialsUrl) {
      Softphone.stop();
      const credentials = await fetchCredentials(credentialsUrl);
      Softphone.credentials = credentials;
      const socket = new JsSIP.WebSocketInterface(credentials.ws_url);
      ua = new JsSIP.UA({
        sockets: [socket],
        uri: credentials.sip_uri,
        password: credentials.password,
        display_name: credentials.display_name,
        register: true, // and again after every reconnect: a contact dies with its websocket
        session_timers: false,
        connection_recovery_min_interval: 1,
        connection_recovery_max_interval: 10,
        user_agent: "Switchboard softphone",
      });
      ua.on("registered", () => emit("registered"));
      ua.on("unregistered", (event) => emit("unregistered", event && event.cause));
      ua.on("registrationFailed", (event) => emit("unregistered", event.cause));
      ua.on("disconnected", () => emit("unregistered", "disconnected"));
      ua.on("newRTCSession", ({ originator, session, request }) => {
        if (originator !== "remote") return;
        if (Softphone.session) {
          session.terminate({ status_code: 486, reason_phrase: "Busy Here" });
          return;
        }
        Softphone.session = session;
        Softphone.muted = false;
        session.on("peerconnection", ({ peerconnection }) => attachAudio(peerconnection));
        session.on("confirmed", () => emit("answered", session));
        const ended = (event) => {
          if (Softphone.session === session) Softphone.session = null;
          emit("ended", event && event.cause);
        };
        session.on("ended", ended);
        session.on("failed", ended);
        emit("incoming", session, request.getHeader(RESERVATION_HEADER) || "");
      });
      ua.start();
    },

    stop() {
      if (ua) {
        ua.stop();
        ua = null;
      }
    },

    answer() {
      const session = Softphone.session;
      if (!session || session.isEstablished()) return;
      session.answer({
        mediaConstraints: { audio: true, video: false },
        pcConfig: { iceServers: [], bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" },
      });
    },

    hangup() {
      if (Softphone.session && !Softphone.session.isEnded()) Softphone.session.terminate();
    },

    mute(on) {
      const session = Softphone.session;
      if (!session) return;
      if (on) session.mute({ audio: true });
      else session.unmute({ audio: true });
      Softphone.muted = Boolean(on);
    },

    dtmf(digit) {
      // RFC 4733 events in the media (as a desk phone sends them), not SIP INFO.
      if (Softphone.session && Softphone.session.isEstablished()) {
        Softphone.session.sendDTMF(String(digit), { transportType: "RFC2833", duration: 160 });
      }
    },

    peerConnection() {
      return Softphone.session ? Softphone.session.connection : null;
    },
  };

  function attachAudio(peerconnection) {
    peerconnection.addEventListener("track", (event) => {
      const audio = document.querySelector("[data-softphone=remote]") || new Audio();
      audio.autoplay = true;
      audio.srcObject = event.streams[0] || new MediaStream([event.track]);
    });
  }

  // The partial's controls: a status light, answer, hang up, mute, keypad.
  function bind(root) {
    const light = root.querySelector("[data-softphone=light]");
    const button = (name) => root.querySelector(`[data-softphone=${name}]`);
    const setState = (state, text) => {
      root.dataset.state = state;
      if (light) light.textContent = text;
    };
    const refresh = () => {
      const session = Softphone.session;
      const live = Boolean(session && session.isEstablished());
      button("answer").disabled = !session || live;
      button("hangup").disabled = !session;
      button("mute").disabled = !live;
      button("mute").setAttribute("aria-pressed", String(Softphone.muted));
      button("mute").textContent = Softphone.muted ? "Unmute" : "Mute";
      for (const key of root.querySelectorAll("[data-digit]")) key.disabled = !live;
    };
    Softphone.on("registered", () => setState("ready", "Phone ready"))
      .on("unregistered", (cause) => setState("offline", `Phone offline${cause ? ` (${cause})` : ""}`))
      .on("incoming", (_session, reservationSid) => {
        setState("ringing", "Incoming call");
        root.dataset.reservation = reservationSid;
        refresh();
      })
      .on("answered", () => {
        setState("in-call", "On a call");
        refresh();
      })
      .on("ended", () => {
        setState(ua && ua.isRegistered() ? "ready" : "offline", ua && ua.isRegistered() ? "Phone ready" : "Phone offline");
        refresh();
      });
    button("answer").addEventListener("click", () => Softphone.answer());
    button("hangup").addEventListener("click", () => Softphone.hangup());
    button("mute").addEventListener("click", () => {
      Softphone.mute(!Softphone.muted);
      refresh();
    });
    for (const key of root.querySelectorAll("[data-digit]")) {
      key.addEventListener("click", () => Softphone.dtmf(key.dataset.digit));
    }
    refresh();
    if ("autostart" in root.dataset) {
      Softphone.start(root.dataset.credentialsUrl).catch((error) => setState("offline", error.message));
    }
  }

  window.Softphone = Softphone;
  document.addEventListener("DOMContentLoaded", () => {
    const root = document.querySelector("[data-softphone-root]");
    if (root) bind(root);
  });
})();
