// The System pages' live sockets (templates/system/includes/live.html): while one is closed (the ws extension
// retries it by itself), what it would push is polled instead; once it is open again the polling stops.
(function () {
  "use strict";
  var POLL_MS = 2000;
  var timer = null;

  function poll() {
    document.querySelectorAll("[data-live-fallback]").forEach(function (element) {
      htmx.trigger(element, "live-fallback");
    });
  }
  document.addEventListener("htmx:wsClose", function (event) {
    if (!event.target.matches("[data-live-fallback]") || timer) { return; }
    poll();
    timer = setInterval(poll, POLL_MS);
  });
  document.addEventListener("htmx:wsOpen", function (event) {
    if (!event.target.matches("[data-live-fallback]")) { return; }
    clearInterval(timer);
    timer = null;
  });
}());
