// One console session (serial TTY or VNC) of a VM page: who holds it, taking over, the socket,
// keepalives, flow-control acknowledgements, and reconnecting with backoff.
//
// The relay (virtualization/consoles/relay.py) sends raw binary frames and stops at a window of
// unacknowledged bytes: the page answers "ack <bytes>" text frames once it has consumed data.
// Text frames are never forwarded to the VM, so "" works as a keepalive.
(function () {
  "use strict";

  var KEEPALIVE_MS = 30000;
  var ACK_EVERY = 16384;
  var BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];
  // Closes after which reconnecting on our own would be wrong: someone else took over, no
  // right to it, logged out, gone, or we closed it.
  var FINAL = { 1000: true, 4001: true, 4401: true, 4403: true, 4404: true };
  var REASONS = {
    4001: "Another session took over.",
    4401: "Your session has expired: log in again.",
    4403: "You may not open this console.",
    4404: "The virtual machine was not found.",
    4013: "Input arrived faster than the virtual machine reads it.",
    1006: "The connection to the console was lost."
  };

  function ConsoleSession(options) {
    this.root = options.root;
    this.what = options.what;                 // "serial console" / "VNC display"
    this.stateLine = options.stateLine;
    this.takeover = options.takeover;         // the "someone else holds it" question
    this.attach = options.attach;             // function (socket): wire the socket to the viewer
    this.ackOnReceipt = !!options.ackOnReceipt;
    this.onStateChange = options.onStateChange || function () {};
    this.socket = null;
    this.unacknowledged = 0;
    this.ackTimer = null;
    this.keepalive = null;
    this.retryTimer = null;
    this.attempt = 0;
    this.openedAt = 0;
    var self = this;
    this.takeover.querySelector("[data-action=take-over]").addEventListener("click", function () {
      self.hideQuestion();
      self.connect();
    });
    this.takeover.querySelector("[data-action=cancel]").addEventListener("click", function () {
      self.hideQuestion();
      self.setState("Not connected: the " + self.what + " stays with its current user.");
    });
  }

  ConsoleSession.prototype.setState = function (text, state) {
    this.stateLine.textContent = text;
    this.root.dataset.state = state || "closed";
    this.onStateChange(state || "closed");
  };

  // Ask the backend (as the user) who holds the console; connect at once if nobody else does.
  ConsoleSession.prototype.start = function () {
    var self = this;
    clearTimeout(this.retryTimer);
    this.hideQuestion();
    this.setState("Checking who uses the " + this.what + "…", "checking");
    fetch(this.root.dataset.holderUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { unknown: true }; })
      .catch(function () { return { unknown: true }; })
      .then(function (holder) {
        if (holder.holder && !holder.self && !(self.socket && self.socket.readyState === 1)) {
          self.ask(holder);
        } else {
          self.connect();
        }
      });
  };

  ConsoleSession.prototype.ask = function (holder) {
    var text = this.takeover.querySelector(".takeover-text");
    text.textContent = "The " + this.what + " is in use by " + holder.holder +
      (holder.since ? " since " + holder.since : "") + " from " + holder.client +
      ". Connecting disconnects their session.";
    this.takeover.hidden = false;
    this.setState("In use by " + holder.holder + ".", "held");
    this.takeover.querySelector("[data-action=take-over]").focus();
  };

  ConsoleSession.prototype.hideQuestion = function () { this.takeover.hidden = true; };

  ConsoleSession.prototype.connect = function () {
    var self = this;
    clearTimeout(this.retryTimer);
    this.close();
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + this.root.dataset.ws);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    this.unacknowledged = 0;
    this.closeReason = null;
    this.setState("Connecting…", "connecting");
    socket.addEventListener("open", function () {
      if (socket !== self.socket) { return; }
      self.openedAt = Date.now();
      self.setState("Connected", "connected");
      self.keepalive = setInterval(function () { if (socket.readyState === 1) { socket.send(""); } }, KEEPALIVE_MS);
    });
    socket.addEventListener("message", function (event) {
      if (typeof event.data === "string") {  // the relay's reason, just before it closes
        try { self.closeReason = JSON.parse(event.data).reason; } catch (e) { /* not ours */ }
      }
    });
    if (this.ackOnReceipt) {
      socket.addEventListener("message", function (event) {
        if (event.data instanceof ArrayBuffer) { self.ack(event.data.byteLength); }
      });
    }
    socket.addEventListener("close", function (event) {
      if (socket !== self.socket) { return; }
      self.closed(event);
    });
    this.attach(socket);
  };

  // Tell the relay `bytes` more have been consumed (batched).
  ConsoleSession.prototype.ack = function (bytes) {
    var self = this;
    this.unacknowledged += bytes;
    if (this.unacknowledged >= ACK_EVERY) { this.flushAck(); return; }
    if (!this.ackTimer) { this.ackTimer = setTimeout(function () { self.flushAck(); }, 50); }
  };

  ConsoleSession.prototype.flushAck = function () {
    clearTimeout(this.ackTimer);
    this.ackTimer = null;
    if (this.unacknowledged && this.socket && this.socket.readyState === 1) {
      this.socket.send("ack " + this.unacknowledged);
      this.unacknowledged = 0;
    }
  };

  ConsoleSession.prototype.closed = function (event) {
    var self = this;
    clearInterval(this.keepalive);
    var reason = event.reason || this.closeReason || REASONS[event.code] || "The connection closed (" + event.code + ").";
    this.closeReason = null;
    if (this.openedAt && Date.now() - this.openedAt > 10000) { this.attempt = 0; }
    this.openedAt = 0;
    if (FINAL[event.code] || this.userClosed) {
      this.setState("Disconnected: " + reason, event.code === 4001 ? "taken-over" : "closed");
      return;
    }
    var delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.setState("Disconnected: " + reason + " Reconnecting in " + Math.round(delay / 1000) + " s…", "waiting");
    this.retryTimer = setTimeout(function () { self.start(); }, delay);
  };

  ConsoleSession.prototype.close = function () {
    clearInterval(this.keepalive);
    clearTimeout(this.ackTimer);
    this.ackTimer = null;
    if (this.socket && this.socket.readyState <= 1) {
      var old = this.socket;
      this.socket = null;
      old.close(1000);
    }
  };

  // The Reconnect button: start over now (asking again if someone else holds it).
  ConsoleSession.prototype.reconnect = function () {
    this.attempt = 0;
    this.userClosed = false;
    this.start();
  };

  ConsoleSession.prototype.send = function (bytes) {
    if (this.socket && this.socket.readyState === 1) { this.socket.send(bytes); return true; }
    return false;
  };

  window.DvpConsoleSession = ConsoleSession;
})();
