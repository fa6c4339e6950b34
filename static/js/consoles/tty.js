// The TTY tab (and its pop-out window): xterm.js on the VM's serial console relay.
// Frames are raw bytes both ways (DVP drops text frames), so keystrokes go out as binary; what
// xterm has drawn is acknowledged to the relay, which never has more than a window in flight.
(function () {
  "use strict";
  var root = document.getElementById("tty-console");
  if (!root) { return; }
  var host = document.getElementById("tty");
  var term = new window.Terminal({
    cursorBlink: true, convertEol: false, fontSize: 14, scrollback: 10000, allowProposedApi: true
  });
  var fit = new window.FitAddon.FitAddon();
  var search = new window.SearchAddon.SearchAddon();
  term.loadAddon(fit);
  term.loadAddon(search);
  term.open(host);
  fit.fit();
  window.addEventListener("resize", function () { fit.fit(); });
  if (window.ResizeObserver) { new ResizeObserver(function () { fit.fit(); }).observe(host); }
  var encoder = new TextEncoder();

  var session = new window.DvpConsoleSession({
    root: root,
    what: "serial console",
    stateLine: document.getElementById("tty-state"),
    takeover: root.querySelector(".console-takeover"),
    attach: function (socket) {
      socket.addEventListener("open", function () {
        host.dataset.connected = "1";
        term.focus();
        socket.send(encoder.encode("\r"));  // wake the guest's prompt, as d8 v console does
      });
      socket.addEventListener("message", function (event) {
        if (!(event.data instanceof ArrayBuffer)) { return; }
        var size = event.data.byteLength;
        term.write(new Uint8Array(event.data), function () { session.ack(size); });
      });
      socket.addEventListener("close", function () { host.dataset.connected = "0"; });
    }
  });

  term.onData(function (data) { session.send(encoder.encode(data)); });
  term.onBinary(function (data) {
    var bytes = new Uint8Array(data.length);
    for (var i = 0; i < data.length; i++) { bytes[i] = data.charCodeAt(i) & 255; }
    session.send(bytes);
  });

  // Copy: Ctrl+Shift+C (Ctrl+C stays the guest's interrupt); paste: Ctrl+Shift+V or the browser's own.
  term.attachCustomKeyEventHandler(function (event) {
    if (event.type === "keydown" && event.ctrlKey && event.shiftKey && event.code === "KeyC") {
      copySelection();
      return false;
    }
    return true;
  });

  function copySelection() {
    var text = term.getSelection();
    if (!text) { announce("Select text in the console first."); return; }
    navigator.clipboard.writeText(text).then(function () { announce("Copied."); },
      function () { announce("The browser did not allow copying."); });
  }

  function pasteClipboard() {
    if (!navigator.clipboard || !navigator.clipboard.readText) { announce("Use Ctrl+Shift+V to paste."); return; }
    navigator.clipboard.readText().then(function (text) { term.paste(text); term.focus(); },
      function () { announce("The browser did not allow reading the clipboard: use Ctrl+Shift+V."); });
  }

  var notice = document.getElementById("tty-notice");
  function announce(text) { notice.textContent = text; }

  function find(backwards) {
    var term_ = document.getElementById("tty-search").value;
    if (!term_) { return; }
    var found = backwards ? search.findPrevious(term_) : search.findNext(term_);
    announce(found ? "" : "Not found in the scrollback.");
  }

  document.getElementById("tty-search").addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); find(event.shiftKey); }
    if (event.key === "Escape") { search.clearDecorations(); term.clearSelection(); term.focus(); }
  });
  root.querySelector("[data-action=find-next]").addEventListener("click", function () { find(false); });
  root.querySelector("[data-action=find-previous]").addEventListener("click", function () { find(true); });
  root.querySelector("[data-action=copy]").addEventListener("click", copySelection);
  root.querySelector("[data-action=paste]").addEventListener("click", pasteClipboard);
  root.querySelector("[data-action=reconnect]").addEventListener("click", function () { session.reconnect(); });
  var reader = document.getElementById("tty-screen-reader");
  reader.addEventListener("change", function () {
    term.options.screenReaderMode = reader.checked;
    try { localStorage.setItem("tty-screen-reader", reader.checked ? "1" : ""); } catch (e) { /* private mode */ }
  });
  try { reader.checked = localStorage.getItem("tty-screen-reader") === "1"; } catch (e) { /* private mode */ }
  term.options.screenReaderMode = reader.checked;

  if (root.dataset.autoconnect === "1") { session.start(); }
  window.dvpTerminal = term;
  window.dvpTerminalSession = session;
})();
