// The live feed over /ws: subscribes, reconnects with backoff, and asks the page to resync.
import { banner } from "./ui.js";

export class Feed {
  /**
   * topics: what to subscribe to; onEvent(topic, payload); onSync(): reload the page's snapshot,
   * called after every (re)subscription and when the server says we fell behind.
   */
  constructor(topics, { onEvent, onSync }) {
    this.topics = topics;
    this.onEvent = onEvent;
    this.onSync = onSync;
    this.attempts = 0;
    this.socket = null;
    this.connected = false;
    this.refused = {};
    this.status = document.getElementById("feed-status");
  }

  start() {
    this.connect();
    window.addEventListener("online", () => { if (!this.connected) this.connect(); });
    return this;
  }

  show(state, text) {
    if (!this.status) return;
    this.status.hidden = false;
    this.status.className = `feed-status ${state}`;
    this.status.textContent = text;
  }

  connect() {
    clearTimeout(this.timer);
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ subscribe: this.topics }));
    });
    socket.addEventListener("message", (message) => {
      let data;
      try { data = JSON.parse(message.data); } catch { return; }
      if (data.type === "subscribed") {
        this.attempts = 0;
        this.connected = true;
        this.refused = data.refused || {};
        this.show("live", "Live");
        banner("feed", "");
        this.sync();
      } else if (data.type === "event") {
        this.onEvent(data.topic, data.payload, data);
      } else if (data.type === "lagged") {
        this.sync();
      }
    });
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      this.connected = false;
      if (event.code === 4001) {
        // The session ended (logout elsewhere, disabled account): back to the login page.
        location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
        return;
      }
      const delay = Math.min(15000, 500 * 2 ** this.attempts) * (0.75 + Math.random() * 0.5);
      this.attempts += 1;
      this.show("down", "Reconnecting…");
      if (this.attempts > 1) banner("feed", "Live updates interrupted; reconnecting…", "warn");
      this.timer = setTimeout(() => this.connect(), delay);
    });
  }

  async sync() {
    try { await this.onSync(); } catch (error) { console.warn("resync failed", error); }
  }
}
