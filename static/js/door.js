/* Frontrow door page (templates/booking/door.html): the camera and answers without reloading.
 * The page works without this file: the code is typed and the form POSTed, the server answers with the page.
 * - The camera: static/vendor/qr-scanner (nimiq/qr-scanner, MIT) reads the QR code from the phone's back
 *   camera (the browser's BarcodeDetector where there is one, else its own decoder in a Web Worker). Each code
 *   read is POSTed like the form (the same fields, the page's CSRF token), asking for JSON.
 * - The same code read again within REPEAT_MS is ignored: the camera still sees the ticket it just let in, and
 *   that must not turn the green answer into "already used".
 * - The answer (green ✓ or red ✕, with words) and the counts are filled in from the JSON, as text only.
 * - The camera is remembered (localStorage) and starts again when the page is opened next.
 */
(function () {
  "use strict";
  var root = document.querySelector("[data-door]");
  var form = document.querySelector("form[data-door-scan]");
  if (!root || !form) return;
  var answer = root.querySelector("[data-door-answer]");
  var camera = root.querySelector("[data-door-camera]");
  var video = root.querySelector("[data-door-video]");
  var frame = root.querySelector("[data-door-frame]");
  var toggle = root.querySelector("[data-camera-toggle]");
  var note = root.querySelector("[data-camera-note]");
  var input = form.querySelector("input[name=code]");
  var text = root.dataset;
  var REPEAT_MS = 5000;
  var REMEMBER = "frontrow-door-camera";
  var busy = false;
  var last = { code: null, at: 0 };
  var scanner = null;

  function buzz(pattern) {
    if (navigator.vibrate) {
      try { navigator.vibrate(pattern); } catch (e) { /* not allowed: the screen says it */ }
    }
  }

  function show(body) {
    var ok = !!body.entered;
    answer.hidden = false;
    answer.className = "door-answer " + (ok ? "door-answer-ok" : "door-answer-no");
    answer.dataset.testid = ok ? "ticket-valid" : "ticket-invalid";
    answer.textContent = "";
    var head = document.createElement("p");
    head.className = "door-answer-head";
    var icon = document.createElement("span");
    icon.className = "door-answer-icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = ok ? "✓" : "✕";
    var heading = document.createElement("span");
    heading.dataset.answer = "heading";
    heading.textContent = body.heading || "";
    head.appendChild(icon);
    head.appendChild(document.createTextNode(" "));
    head.appendChild(heading);
    answer.appendChild(head);
    if (body.message) {
      var message = document.createElement("p");
      message.className = "door-answer-message";
      message.dataset.answer = "message";
      message.textContent = body.message;
      answer.appendChild(message);
    }
    if (body.details && body.details.length) {
      var list = document.createElement("ul");
      list.className = "door-answer-details";
      body.details.forEach(function (line) {
        var item = document.createElement("li");
        item.textContent = line;
        list.appendChild(item);
      });
      answer.appendChild(list);
    }
    if (body.counts) {
      ["entered", "expected", "here"].forEach(function (key) {
        var place = root.querySelector('[data-count="' + key + '"]');
        if (place && typeof body.counts[key] === "number") place.textContent = String(body.counts[key]);
      });
    }
    buzz(ok ? 120 : [250, 120, 250]);
  }

  function check(code, fromCamera) {
    code = (code || "").trim();
    if (!code || busy) return;
    var now = Date.now();
    if (fromCamera && code === last.code && now - last.at < REPEAT_MS) return;
    busy = true;
    last = { code: code, at: now };
    answer.classList.add("door-answer-busy");
    var data = new FormData(form);
    data.set("code", code);
    fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") !== 0) {
        // Logged out, or no longer allowed: let the browser follow the page the server sends.
        window.location.assign(form.action);
        return null;
      }
      return response.json().then(show);
    }).catch(function () {
      show({ entered: false, heading: text.textNotRecorded, message: text.textNoAnswer });
      last = { code: null, at: 0 };  // the next read of this code asks again
    }).then(function () {
      busy = false;
      answer.classList.remove("door-answer-busy");
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var code = input.value;
    input.value = "";
    check(code, false);
    input.focus();
  });

  function stopCamera() {
    if (scanner) scanner.stop();
    frame.hidden = true;
    toggle.textContent = text.textCameraStart;
    note.textContent = "";
    try { localStorage.removeItem(REMEMBER); } catch (e) { /* private mode */ }
  }

  function startCamera() {
    note.textContent = text.textChecking;
    frame.hidden = false;
    var ready = scanner ? Promise.resolve(scanner) : import(text.scannerSrc).then(function (module) {
      var QrScanner = module.default;
      scanner = new QrScanner(video, function (result) { check(result.data, true); }, {
        returnDetailedScanResult: true,
        preferredCamera: "environment",
        maxScansPerSecond: 8,
        onDecodeError: function () { /* no code in this frame: keep looking */ }
      });
      return scanner;
    });
    ready.then(function (s) { return s.start(); }).then(function () {
      toggle.textContent = text.textCameraStop;
      note.textContent = text.textCameraOn;
      try { localStorage.setItem(REMEMBER, "on"); } catch (e) { /* private mode */ }
    }).catch(function () {
      frame.hidden = true;
      toggle.textContent = text.textCameraStart;
      note.textContent = text.textCameraFailed;
      try { localStorage.removeItem(REMEMBER); } catch (e) { /* private mode */ }
    });
  }

  if (camera && toggle && video && frame) {
    camera.hidden = false;
    toggle.addEventListener("click", function () {
      if (toggle.textContent === text.textCameraStop) stopCamera(); else startCamera();
    });
    var remembered = null;
    try { remembered = localStorage.getItem(REMEMBER); } catch (e) { /* private mode */ }
    if (remembered === "on") startCamera();
  }
})();
