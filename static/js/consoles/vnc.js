// The VNC tab (and its pop-out window): noVNC's RFB on the VM's VNC relay.
// noVNC is an ES module library; its core/rfb.js is imported from staticfiles (the URL is in the
// page, so hashed static names keep working). The socket is ours (session.js: holder
// probe, takeover question, keepalive, acknowledgements, reconnect) and handed to RFB.
"use strict";

const root = document.getElementById("vnc-console");
const XK = {
  Control_L: 0xffe3, Alt_L: 0xffe9, Shift_L: 0xffe1, Delete: 0xffff, BackSpace: 0xff08, Tab: 0xff09,
  Return: 0xff0d, Escape: 0xff1b, F1: 0xffbe, Super_L: 0xffeb, Print: 0xff61,
};
// The key combinations menu: [label, [[keysym, code], ...]] pressed in order, released in reverse.
const COMBINATIONS = {
  "ctrl-alt-del": [[XK.Control_L, "ControlLeft"], [XK.Alt_L, "AltLeft"], [XK.Delete, "Delete"]],
  "ctrl-alt-backspace": [[XK.Control_L, "ControlLeft"], [XK.Alt_L, "AltLeft"], [XK.BackSpace, "Backspace"]],
  "ctrl-alt-f1": [[XK.Control_L, "ControlLeft"], [XK.Alt_L, "AltLeft"], [XK.F1, "F1"]],
  "ctrl-alt-f2": [[XK.Control_L, "ControlLeft"], [XK.Alt_L, "AltLeft"], [XK.F1 + 1, "F2"]],
  "alt-tab": [[XK.Alt_L, "AltLeft"], [XK.Tab, "Tab"]],
  "ctrl-c": [[XK.Control_L, "ControlLeft"], [0x63, "KeyC"]],
  "escape": [[XK.Escape, "Escape"]],
  "super": [[XK.Super_L, "MetaLeft"]],
  "print": [[XK.Print, "PrintScreen"]],
};
const TYPE_BATCH = 64;  // characters typed per tick when pasting as typing

async function main() {
  if (!root) { return; }
  const { default: RFB } = await import(root.dataset.rfbModule);
  const screen = document.getElementById("vnc-screen");
  const stateLine = document.getElementById("vnc-state");
  const notice = document.getElementById("vnc-notice");
  const controls = root.querySelectorAll("[data-needs-connection]");
  let rfb = null;

  function applyScaling() {
    if (!rfb) { return; }
    const mode = document.getElementById("vnc-scaling").value;
    rfb.scaleViewport = mode === "fit";
    rfb.clipViewport = false;
    rfb.resizeSession = mode === "remote";
    screen.dataset.scaling = mode;
  }

  const session = new window.DvpConsoleSession({
    root: root,
    what: "VNC display",
    stateLine: stateLine,
    takeover: root.querySelector(".console-takeover"),
    ackOnReceipt: true,
    onStateChange: function (state) {
      controls.forEach(function (control) { control.disabled = state !== "connected"; });
    },
    attach: function (socket) {
      if (rfb) { rfb._rfbConnectionState !== "disconnected" && rfb.disconnect(); }
      screen.replaceChildren();
      rfb = new RFB(screen, socket, { shared: true });
      rfb.viewOnly = document.getElementById("vnc-view-only").checked;
      rfb.focusOnClick = true;
      applyScaling();
      rfb.addEventListener("connect", function () { screen.dataset.connected = "1"; rfb.focus(); });
      rfb.addEventListener("disconnect", function () { screen.dataset.connected = "0"; });
      rfb.addEventListener("desktopname", function (event) { screen.setAttribute("aria-label", "VNC display: " + event.detail.name); });
      window.dvpVnc = rfb;
    }
  });

  function press(keys) {
    if (!rfb) { return; }
    keys.forEach(function (key) { rfb.sendKey(key[0], key[1], true); });
    keys.slice().reverse().forEach(function (key) { rfb.sendKey(key[0], key[1], false); });
    rfb.focus();
  }

  function keysymOf(ch) {
    if (ch === "\n") { return XK.Return; }
    if (ch === "\t") { return XK.Tab; }
    const code = ch.codePointAt(0);
    return code < 0x100 ? code : 0x01000000 | code;
  }

  // Paste as typing: the guest has no clipboard, so the text is sent as key presses, a batch per
  // tick and only while the socket keeps up (bufferedAmount), so a long text cannot flood it.
  function typeText(text) {
    const chars = Array.from(text.replace(/\r\n?/g, "\n"));
    let index = 0;
    function tick() {
      if (!rfb || !session.socket || session.socket.readyState !== 1) { announce("Typing stopped: disconnected."); return; }
      if (session.socket.bufferedAmount > 65536) { setTimeout(tick, 50); return; }
      for (const end = Math.min(chars.length, index + TYPE_BATCH); index < end; index++) {
        rfb.sendKey(keysymOf(chars[index]), null);
      }
      if (index < chars.length) { setTimeout(tick, 10); } else { announce("Typed " + chars.length + " characters."); rfb.focus(); }
    }
    tick();
  }

  function announce(text) { notice.textContent = text; }

  document.getElementById("vnc-scaling").addEventListener("change", applyScaling);
  document.getElementById("vnc-view-only").addEventListener("change", function (event) {
    if (rfb) { rfb.viewOnly = event.target.checked; }
  });
  root.querySelectorAll("[data-keys]").forEach(function (button) {
    button.addEventListener("click", function () {
      press(COMBINATIONS[button.dataset.keys]);
      button.closest("details").open = false;
      announce(button.textContent.trim() + " sent.");
    });
  });
  document.getElementById("vnc-type-form").addEventListener("submit", function (event) {
    event.preventDefault();
    const field = document.getElementById("vnc-type-text");
    if (field.value) { typeText(field.value); }
  });
  root.querySelector("[data-action=fullscreen]").addEventListener("click", function () {
    if (document.fullscreenElement) { document.exitFullscreen(); return; }
    screen.requestFullscreen().then(function () { rfb && rfb.focus(); },
      function () { announce("The browser refused fullscreen."); });
  });
  root.querySelector("[data-action=reconnect]").addEventListener("click", function () { session.reconnect(); });

  if (root.dataset.autoconnect === "1") { session.start(); }
  window.dvpVncSession = session;
}

main();
