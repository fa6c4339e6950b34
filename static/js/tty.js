// The TTY tab: xterm.js on a WebSocket relayed by the console to the VM's serial console.
// Frames are raw bytes both ways (DVP drops text frames), so keystrokes go out as binary.
(function () {
  "use strict";
  var host = document.getElementById("tty");
  if (!host) { return; }
  var stateLine = document.getElementById("tty-state");
  var term = new window.Terminal({ cursorBlink: true, convertEol: false, fontSize: 14, scrollback: 5000 });
  var fit = new window.FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(host);
  fit.fit();
  window.addEventListener("resize", function () { fit.fit(); });
  var encoder = new TextEncoder();
  var socket = null;
  var keepalive = null;

  var reasons = {
    4001: "Another session took over this console.",
    4403: "You may not open this console.",
    4401: "Your session has expired: log in again."
  };

  function setState(text) { stateLine.textContent = text; host.dataset.state = text; }

  function connect() {
    if (socket && socket.readyState <= 1) { socket.close(); }
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + host.dataset.ws);
    socket.binaryType = "arraybuffer";
    setState("Connecting…");
    socket.onopen = function () {
      setState("Connected");
      host.dataset.connected = "1";
      term.focus();
      socket.send(encoder.encode("\r"));  // wake the guest's prompt, as d8 v console does
      keepalive = setInterval(function () { if (socket.readyState === 1) { socket.send(""); } }, 30000);
    };
    socket.onmessage = function (event) {
      if (event.data instanceof ArrayBuffer) { term.write(new Uint8Array(event.data)); }
    };
    socket.onclose = function (event) {
      clearInterval(keepalive);
      host.dataset.connected = "0";
      setState("Disconnected: " + (event.reason || reasons[event.code] || "the connection closed (" + event.code + ")."));
    };
  }

  term.onData(function (data) {
    if (socket && socket.readyState === 1) { socket.send(encoder.encode(data)); }
  });
  document.getElementById("tty-reconnect").addEventListener("click", connect);
  if (host.dataset.autoconnect === "1") { connect(); }
  window.dvpTerminal = term;
})();
