// The phone of the agent and supervisor pages: the WebRTC softphone (softphone.js), its status
// badges and banners, the microphone check, registration with /api/me/sip, and the test hook
// window.pbxSoftphone. Each page passes only what differs: its wording and its own hook fields.
import { ApiError, get } from "./api.js";
import { PbxSoftphone } from "./softphone.js";
import { $, banner } from "./ui.js";

const MIC_BADGES = {
  granted: ["Microphone: allowed", "ok"],
  prompt: ["Microphone: click to allow", "warn"],
  denied: ["Microphone: blocked", "bad"],
  none: ["Microphone: none found", "bad"],
  unknown: ["Microphone: checking", ""],
};

export class PhonePanel {
  /**
   * @param {object} texts what the page says about its phone:
   *   lost: banner while the SIP connection is down; noPhone: when /api/me/sip answers 404;
   *   mic: {none: [text, kind], denied: [text, kind]} banners; inCall: badge text while a call
   *   is up (null: the badge keeps saying "ready").
   * @param {() => void} [onChange] called after every change of the phone, once it is drawn.
   */
  constructor(texts, onChange = () => {}) {
    this.texts = texts;
    this.onChange = onChange;
    this.phone = new PbxSoftphone({ audio: $("#remote-audio") });
    this.phone.addEventListener("change", () => this.render());
    $("#mic-status").addEventListener("click", () => this.phone.requestMicrophone());
  }

  /** The SIP call state: idle | ringing | connecting | active | held | ended. */
  get call() {
    return this.phone.state.call;
  }

  /** Whether a SIP call is up or ringing on this phone. */
  get busy() {
    return this.phone.state.call !== "idle";
  }

  render() {
    const s = this.phone.state;
    let text = "Phone: connecting";
    let kind = "warn";
    if (this.texts.inCall && (s.call === "active" || s.call === "connecting")) { text = this.texts.inCall; kind = "ok"; }
    else if (s.registration === "registered") { text = "Phone: ready"; kind = "ok"; }
    else if (s.registration === "failed") { text = "Phone: registration failed"; kind = "bad"; }
    else if (s.connection === "disconnected") { text = "Phone: disconnected"; kind = "bad"; }
    const sip = $("#sip-status");
    sip.className = `badge ${kind}`;
    sip.textContent = text;
    if (s.registration === "registered") banner("sip", "");
    else if (s.connection === "disconnected" && this.phone.credentials) banner("sip", this.texts.lost, "error");
    else if (s.registration === "failed") banner("sip", `Your phone could not register (${s.error}). Retrying…`, "error");
    const [micText, micKind] = MIC_BADGES[s.mic] || ["Microphone: ?", ""];
    const mic = $("#mic-status");
    mic.textContent = micText;
    mic.className = `badge ${micKind}`;
    const micBanner = this.texts.mic[s.mic];
    if (micBanner) banner("mic", ...micBanner);
    else banner("mic", "");
    this.onChange();
  }

  /** Check the microphone, then register with the page user's own SIP credentials. */
  async start() {
    this.render();
    await this.phone.checkMicrophone();
    try {
      this.phone.start(await get("/api/me/sip"));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) banner("sip", this.texts.noPhone, "warn");
      else banner("sip", `The softphone could not start: ${error.message}`, "error");
    }
  }

  /** Publish window.pbxSoftphone for the browser tests: the phone's state plus the page's `extra`. */
  expose(extra = {}) {
    const phone = this.phone;
    const hook = {
      get registered() { return phone.registered; },
      get registration() { return phone.state.registration; },
      get connection() { return phone.state.connection; },
      get callState() { return phone.state.call; },
      get sipCallId() { return phone.state.callId; },
      get remoteNumber() { return phone.state.remoteNumber; },
      get mic() { return phone.state.mic; },
      stats: () => phone.stats(),
      hangup: () => phone.hangup(),
    };
    Object.defineProperties(hook, Object.getOwnPropertyDescriptors(extra));
    window.pbxSoftphone = hook;
    return hook;
  }
}
