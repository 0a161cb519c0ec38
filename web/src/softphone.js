// The WebRTC softphone on JsSIP. phone.js (the agent and supervisor pages' phone) drives it and
// publishes its state as window.pbxSoftphone for tests; esbuild bundles it into those pages.
// It also exposes window.JsSIP and window.PbxSoftphone, for a look from the browser's console.
import JsSIP from "jssip";

const RETRY_MIN_MS = 2000;
const RETRY_MAX_MS = 30000;

function headerOf(request, name) {
  try {
    return request && request.hasHeader(name) ? request.getHeader(name) : null;
  } catch {
    return null;
  }
}

export class PbxSoftphone extends EventTarget {
  constructor({ audio } = {}) {
    super();
    this.audio = audio || null;
    this.ua = null;
    this.session = null;
    this.retries = 0;
    this.expectUntil = 0;
    this.state = {
      connection: "disconnected", // disconnected | connecting | connected
      registration: "unregistered", // unregistered | registering | registered | failed
      call: "idle", // idle | ringing | connecting | active | held | ended
      remoteNumber: null,
      remoteName: null,
      callId: null,
      mic: "unknown", // unknown | granted | prompt | denied | none
      error: null,
    };
  }

  get registered() {
    return this.state.registration === "registered";
  }

  set(changes) {
    Object.assign(this.state, changes);
    this.dispatchEvent(new CustomEvent("change", { detail: { ...this.state } }));
  }

  /** Register with the credentials from /api/me/sip. */
  start(credentials) {
    this.stop();
    this.credentials = credentials;
    const socket = new JsSIP.WebSocketInterface(credentials.ws_url);
    const ua = new JsSIP.UA({
      sockets: [socket],
      uri: credentials.uri,
      authorization_user: credentials.authorization_user,
      password: credentials.password,
      display_name: credentials.display_name,
      register: true,
      register_expires: 120,
      session_timers: false,
      user_agent: "pbx-stasis softphone",
      connection_recovery_min_interval: 2,
      connection_recovery_max_interval: 30,
    });
    this.ua = ua;
    ua.on("connecting", () => this.set({ connection: "connecting" }));
    ua.on("connected", () => this.set({ connection: "connected", error: null }));
    ua.on("disconnected", () => {
      // JsSIP reconnects by itself (connection_recovery_*); it registers again once connected.
      this.set({ connection: "disconnected", registration: "unregistered" });
    });
    ua.on("registered", () => {
      this.retries = 0;
      this.set({ registration: "registered", error: null });
    });
    ua.on("unregistered", () => this.set({ registration: "unregistered" }));
    ua.on("registrationFailed", (event) => {
      this.set({ registration: "failed", error: event.cause || "registration failed" });
      this.retryRegister();
    });
    ua.on("newRTCSession", (event) => this.onSession(event));
    this.set({ registration: "registering" });
    ua.start();
  }

  retryRegister() {
    clearTimeout(this.retryTimer);
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.retries);
    this.retries += 1;
    this.retryTimer = setTimeout(() => {
      if (this.ua && this.ua.isConnected()) {
        this.set({ registration: "registering" });
        this.ua.register();
      }
    }, delay);
  }

  stop() {
    clearTimeout(this.retryTimer);
    if (this.ua) {
      try { this.ua.stop(); } catch { /* already stopped */ }
    }
    this.ua = null;
  }

  /** The agent asked the server to dial: the call that comes back is answered by itself. */
  expectCall(ms = 30000) {
    this.expectUntil = Date.now() + ms;
  }

  onSession({ session, originator, request }) {
    if (originator !== "remote") return;
    if (this.session) {
      session.terminate({ status_code: 486, reason_phrase: "Busy Here" });
      return;
    }
    this.session = session;
    const identity = session.remote_identity;
    this.set({
      call: "ringing",
      remoteNumber: identity && identity.uri ? identity.uri.user : null,
      remoteName: identity ? identity.display_name || null : null,
      callId: headerOf(request, "X-PBX-Call-Id"),
    });
    session.on("peerconnection", ({ peerconnection }) => this.attachAudio(peerconnection));
    session.on("accepted", () => this.set({ call: "active" }));
    session.on("confirmed", () => this.set({ call: "active" }));
    session.on("hold", () => this.set({ call: "held" }));
    session.on("unhold", () => this.set({ call: "active" }));
    const finished = (event) => {
      if (this.session !== session) return;
      this.session = null;
      this.set({ call: "idle", remoteNumber: null, remoteName: null, callId: null,
        error: event && event.cause && event.originator !== "local" ? null : this.state.error });
      this.dispatchEvent(new CustomEvent("ended", { detail: { cause: event && event.cause } }));
    };
    session.on("ended", finished);
    session.on("failed", finished);
    const auto = headerOf(request, "X-PBX-Auto-Answer");
    const expected = Date.now() < this.expectUntil;
    this.dispatchEvent(new CustomEvent("incoming", { detail: { ...this.state, auto: auto === "yes" || expected } }));
    if (auto === "yes" || expected) {
      this.expectUntil = 0;
      this.answer();
    }
  }

  attachAudio(peerconnection) {
    peerconnection.addEventListener("track", (event) => {
      if (this.audio && event.streams && event.streams[0]) {
        this.audio.srcObject = event.streams[0];
        const playing = this.audio.play();
        if (playing && playing.catch) playing.catch(() => {});
      }
    });
  }

  answer() {
    if (!this.session || this.state.call !== "ringing") return false;
    this.set({ call: "connecting" });
    this.session.answer({
      mediaConstraints: { audio: true, video: false },
      pcConfig: { iceServers: [] },
    });
    return true;
  }

  hangup() {
    if (!this.session) return false;
    try {
      this.session.terminate();
    } catch {
      /* already ending */
    }
    return true;
  }

  /** Audio bytes in and out of the current call (RTCPeerConnection getStats). */
  async stats() {
    const pc = this.session && this.session.connection;
    if (!pc) return { bytesReceived: 0, bytesSent: 0, packetsReceived: 0 };
    const report = await pc.getStats();
    let bytesReceived = 0;
    let bytesSent = 0;
    let packetsReceived = 0;
    report.forEach((item) => {
      if (item.type === "inbound-rtp" && (item.kind || item.mediaType) === "audio") {
        bytesReceived += item.bytesReceived || 0;
        packetsReceived += item.packetsReceived || 0;
      }
      if (item.type === "outbound-rtp" && (item.kind || item.mediaType) === "audio") {
        bytesSent += item.bytesSent || 0;
      }
    });
    return { bytesReceived, bytesSent, packetsReceived };
  }

  /** Whether a microphone exists and may be used: granted, prompt, denied or none. */
  async checkMicrophone() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      this.set({ mic: "none" });
      return this.state.mic;
    }
    try {
      const devices = await navigator.mediaDevices.enumerateDevices();
      if (!devices.some((d) => d.kind === "audioinput")) {
        this.set({ mic: "none" });
        return this.state.mic;
      }
    } catch {
      /* fall through to the permission check */
    }
    let permission = "prompt";
    try {
      const status = await navigator.permissions.query({ name: "microphone" });
      permission = status.state;
      status.onchange = () => this.set({ mic: status.state });
    } catch {
      permission = "prompt";
    }
    this.set({ mic: permission });
    return permission;
  }

  /** Ask for the microphone now (a click), so the first call does not wait on a prompt. */
  async requestMicrophone() {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      stream.getTracks().forEach((track) => track.stop());
      this.set({ mic: "granted" });
    } catch (error) {
      const name = error && error.name;
      this.set({ mic: name === "NotFoundError" || name === "OverconstrainedError" ? "none" : "denied" });
    }
    return this.state.mic;
  }
}

window.JsSIP = JsSIP;
window.PbxSoftphone = PbxSoftphone;
