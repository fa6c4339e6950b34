// The System pages' live sockets (templates/system/includes/live_fallback.html): while one is closed (the ws
// extension retries it by itself), what it would push is polled instead; once it is open again the polling stops.
(function () {
  "use strict";
  var POLL_MS = 2000;
  var timer = null;

  function poll() {
    document.querySelectorAll("[data-live-fallback]").forEach(function (element) {
      htmx.trigger(element, "live-fallback");
    });
  }
  document.addEventListener("htmx:wsClose", function () {
    if (timer || !document.querySelector("[data-live-fallback]")) { return; }
    poll();
    timer = setInterval(poll, POLL_MS);
  });
  document.addEventListener("htmx:wsOpen", function () {
    clearInterval(timer);
    timer = null;
  });
}());
