// "Upload from computer": send the chosen file through the console (which streams it to the
// cluster's upload URL), with a progress bar and a cancel button.
(function () {
  "use strict";

  function cookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : "";
  }

  function megabytes(bytes) { return (bytes / 1048576).toFixed(1) + " MiB"; }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-upload-form]");
    if (!form) { return; }
    event.preventDefault();
    var widget = form.closest("[data-upload-url]");
    var input = form.querySelector("input[type=file]");
    var start = form.querySelector("[data-upload-start]");
    var cancel = form.querySelector("[data-upload-cancel]");
    var bar = form.querySelector("[data-upload-bar]");
    var text = form.querySelector("[data-upload-text]");
    var error = form.querySelector("[data-upload-error]");
    var file = input.files[0];
    error.hidden = true;
    if (!file) {
      error.textContent = "Choose a file to upload.";
      error.hidden = false;
      return;
    }
    var xhr = new XMLHttpRequest();
    xhr.open("PUT", widget.dataset.uploadUrl);
    xhr.setRequestHeader("X-CSRFToken", cookie("csrftoken"));
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    bar.parentElement.hidden = false;
    bar.value = 0;
    text.textContent = "Starting…";
    start.disabled = true;
    input.disabled = true;
    cancel.hidden = false;

    function finish() {
      start.disabled = false;
      input.disabled = false;
      cancel.hidden = true;
    }

    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) { return; }
      var percent = Math.floor(100 * e.loaded / e.total);
      bar.value = percent;
      text.textContent = percent + "% · " + megabytes(e.loaded) + " of " + megabytes(e.total);
    });
    xhr.addEventListener("load", function () {
      finish();
      var answer = {};
      try { answer = JSON.parse(xhr.responseText); } catch (ignored) { /* not JSON */ }
      if (xhr.status === 200) {
        bar.value = 100;
        text.textContent = "Uploaded " + megabytes(file.size) + ". The cluster is now processing the image.";
        form.querySelector("input[type=file]").value = "";
        start.hidden = true;
        input.hidden = true;
      } else {
        error.textContent = "The upload failed: " + (answer.error || ("HTTP " + xhr.status));
        error.hidden = false;
        text.textContent = "";
      }
    });
    xhr.addEventListener("error", function () {
      finish();
      error.textContent = "The upload failed: the connection to the console was lost.";
      error.hidden = false;
    });
    xhr.addEventListener("abort", function () {
      finish();
      bar.value = 0;
      text.textContent = "Upload cancelled. You can choose the file again and restart it.";
    });
    cancel.onclick = function () { xhr.abort(); };
    xhr.send(file);
  });
}());
