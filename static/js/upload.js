// "Upload from computer": the chosen file goes to the console over a WebSocket, a slice at a
// time (the console streams it on to the cluster's upload URL), with a progress bar and cancel.
// At most WINDOW bytes are sent ahead of the console's acknowledgements.
(function () {
  "use strict";

  var CHUNK = 256 * 1024;
  var WINDOW = 2 * 1024 * 1024;

  function megabytes(bytes) { return (bytes / 1048576).toFixed(1) + " MiB"; }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-upload-form]");
    if (!form) { return; }
    event.preventDefault();
    var widget = form.closest("[data-upload-socket]");
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
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + widget.dataset.uploadSocket);
    var sent = 0;
    var acked = 0;
    var reading = false;
    var finished = false;
    var cancelled = false;
    bar.parentElement.hidden = false;
    bar.value = 0;
    text.textContent = "Starting…";
    start.disabled = true;
    input.disabled = true;
    cancel.hidden = false;

    function done(message, failed) {
      finished = true;
      start.disabled = false;
      input.disabled = false;
      cancel.hidden = true;
      if (failed) {
        error.textContent = message;
        error.hidden = false;
        text.textContent = "";
      } else {
        text.textContent = message;
      }
    }

    // Send slices while the window allows; each ack from the console opens it again.
    function pump() {
      if (reading || cancelled || socket.readyState !== 1) { return; }
      if (sent >= file.size) { socket.send(JSON.stringify({ done: true })); sent = Infinity; return; }
      if (sent - acked >= WINDOW) { return; }
      reading = true;
      file.slice(sent, sent + CHUNK).arrayBuffer().then(function (buffer) {
        reading = false;
        if (cancelled || socket.readyState !== 1) { return; }
        socket.send(buffer);
        sent += buffer.byteLength;
        pump();
      });
    }

    socket.onmessage = function (event) {
      var answer = JSON.parse(event.data);
      if (answer.ready) {
        socket.send(JSON.stringify({ size: file.size }));
        pump();
      } else if (answer.ack !== undefined) {
        acked = answer.ack;
        var percent = file.size ? Math.floor(100 * acked / file.size) : 100;
        bar.value = percent;
        text.textContent = percent + "% · " + megabytes(acked) + " of " + megabytes(file.size);
        pump();
      } else if (answer.ok) {
        bar.value = 100;
        done("Uploaded " + megabytes(file.size) + ". The cluster is now processing the image.");
        input.value = "";
        start.hidden = true;
        input.hidden = true;
      } else if (answer.error) {
        done("The upload failed: " + answer.error, true);
      }
    };
    socket.onclose = function () {
      if (finished) { return; }
      if (cancelled) {
        bar.value = 0;
        done("Upload cancelled. You can choose the file again and restart it.");
      } else {
        done("The upload failed: the connection to the console was lost (has your session expired?).", true);
      }
    };
    cancel.onclick = function () { cancelled = true; socket.close(); };
  });
}());
