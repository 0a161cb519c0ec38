// The ring sound, synthesised with WebAudio (no audio file): 440 + 480 Hz, 2 s on, 4 s off.

export class Ringer {
  constructor() {
    this.context = null;
    this.playing = false;
    this.timer = null;
    this.nodes = [];
    // Browsers only let a page make sound after a click; the first click anywhere unlocks it.
    document.addEventListener("click", () => this.unlock(), { capture: true });
    document.addEventListener("keydown", () => this.unlock(), { capture: true });
  }

  ensureContext() {
    if (!this.context) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return null;
      this.context = new Context();
    }
    return this.context;
  }

  unlock() {
    const context = this.ensureContext();
    if (context && context.state === "suspended") context.resume().catch(() => {});
    const hint = document.getElementById("sound-status");
    if (hint) hint.hidden = true;
  }

  burst() {
    const context = this.context;
    if (!context || context.state !== "running") {
      const hint = document.getElementById("sound-status");
      if (hint) { hint.hidden = false; hint.className = "badge warn"; }
      return;
    }
    const gain = context.createGain();
    const start = context.currentTime;
    gain.gain.setValueAtTime(0, start);
    gain.gain.linearRampToValueAtTime(0.18, start + 0.05);
    gain.gain.setValueAtTime(0.18, start + 1.9);
    gain.gain.linearRampToValueAtTime(0, start + 2.0);
    gain.connect(context.destination);
    for (const frequency of [440, 480]) {
      const osc = context.createOscillator();
      osc.frequency.value = frequency;
      osc.connect(gain);
      osc.start(start);
      osc.stop(start + 2.0);
      this.nodes.push(osc);
    }
    this.nodes.push(gain);
  }

  start() {
    if (this.playing) return;
    this.playing = true;
    this.ensureContext();
    this.burst();
    this.timer = setInterval(() => this.burst(), 6000);
  }

  stop() {
    if (!this.playing) return;
    this.playing = false;
    clearInterval(this.timer);
    for (const node of this.nodes) {
      try { node.stop ? node.stop() : node.disconnect(); } catch { /* already stopped */ }
    }
    this.nodes = [];
  }
}
