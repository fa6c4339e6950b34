// Download page (virtualization/downloads.py): once the export is Ready, its data form is posted, once. The answer
// is an attachment: the browser downloads it and stays on the page, which goes on following the export.
(function () {
  "use strict";
  var started = {};

  function start() {
    var form = document.querySelector("form[data-download-start]");
    if (!form || started[form.dataset.downloadStart]) return;
    started[form.dataset.downloadStart] = true;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  document.addEventListener("DOMContentLoaded", start);
  document.addEventListener("htmx:afterSettle", start);
})();
