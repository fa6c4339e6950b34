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
    if (form) {
      event.preventDefault();
      startUpload(form);
      return;
    }
    // Without a file chosen the form posts as any other: the object's page then waits for one (or for curl).
    var picker = event.target.querySelector("[data-upload-pick]");
    if (picker && picker.files.length) {
      event.preventDefault();
      createThenUpload(event.target, picker, event.submitter);
    }
  });

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-upload-pick-open]");
    if (!opener) { return; }
    event.preventDefault();
    opener.closest("[data-upload-pick-field]").querySelector("[data-upload-pick]").click();
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-upload-pick]")) { showChosen(event.target); }
  });

  function showChosen(picker) {
    var field = picker.closest("[data-upload-pick-field]");
    var name = field && field.querySelector("[data-upload-pick-name]");
    if (name) { name.textContent = picker.files.length ? picker.files[0].name : "No file chosen"; }
    var error = field && field.querySelector("[data-upload-pick-error]");
    if (error && picker.files.length) { error.hidden = true; }
  }

  // "Upload File" on a create form (the guides choose the file before Create). Create posts the form without
  // the file; when the object is made, its page replaces this one and its upload widget takes the file, waiting
  // until the object can receive it. A refused form comes back with the file still chosen (the same input).
  function createThenUpload(form, picker, submitter) {
    var field = picker.closest("[data-upload-pick-field]");
    var error = field.querySelector("[data-upload-pick-error]");
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.getAttribute("action") || location.href, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) {
        return response.text().then(function (html) { return { response: response, html: html }; });
      })
      .then(function (answer) {
        var page = new DOMParser().parseFromString(answer.html, "text/html");
        var next = page.getElementById("main");
        if (!next) { throw new Error("no page"); }
        if (answer.response.redirected) {
          history.pushState(null, "", answer.response.url);
          swapMain(page, next);
          var widget = next.querySelector("[data-upload-form]");
          if (!widget) { return; }  // the page says why no upload can be made
          widget.querySelector("input[type=file]").files = picker.files;
          widget.dataset.waitUntil = String(Date.now() + 120000);
          startUpload(widget);
        } else {
          var placeholder = next.querySelector("[data-upload-pick]");
          if (placeholder) { placeholder.replaceWith(picker); }
          swapMain(page, next);
          showChosen(picker);
        }
      })
      .catch(function () {
        buttons.forEach(function (b) { b.disabled = false; });
        error.textContent = "The console could not be reached: look for the object in its list before trying Create again.";
        error.hidden = false;
      });
  }

  function swapMain(page, next) {
    document.title = page.title;
    document.getElementById("main").replaceWith(next);
    if (window.htmx) { window.htmx.process(next); }
  }

  function startUpload(form) {
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
        if (answer.status === 409 && acked === 0 && Number(form.dataset.waitUntil || 0) > Date.now()) {
          // Just created: the object does not wait for the upload yet (Pending); ask again in a second.
          finished = true;
          text.textContent = "Waiting until it is ready to receive the file…";
          setTimeout(function () { startUpload(form); }, 1000);
          return;
        }
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
  }
}());
