/* Frontrow waiting room: polls the status URL and updates the page in place; goes on to the seats as
 * soon as the fan is admitted. Without this file the page reloads itself (<noscript> meta refresh).
 * The server says how often to poll (poll_seconds grows with the distance to the front; in the pre-queue
 * it points at a moment spread at random over the seconds after the opening, when the poll brings the
 * drawn place); every wait is jittered by a fifth either way, so pages opened together drift apart. A
 * failing backend (503) or network error backs off instead of hammering the server; a rate limit (429)
 * is waited out as its retry_after says.
 */
(function () {
  "use strict";

  function start(room) {
    var url = room.getAttribute("data-status-url");
    var delay = parseInt(room.getAttribute("data-poll-seconds"), 10) || 5;
    var failures = 0;
    var inPrequeue = room.getAttribute("data-prequeue") === "true";
    if (room.getAttribute("data-joined") !== "true" || room.getAttribute("data-admitted") === "true") {
      return;
    }

    function find(name) { return room.querySelector("[data-queue-" + name + "]"); }
    function setText(name, value) {
      var node = find(name);
      if (node && value !== null && value !== undefined) node.textContent = value;
    }
    function showError(message) {
      var node = find("error");
      if (!node) return;
      node.textContent = message || "";
      node.hidden = !message;
    }

    function apply(data) {
      if (data.admitted && data.next_url) {
        window.location.assign(data.next_url);
        return false;
      }
      if (!data.joined) {  // the place ended elsewhere (left in another tab, or ran out)
        window.location.reload();
        return false;
      }
      var prequeue = find("prequeue");
      var waiting = find("waiting");
      inPrequeue = !!data.prequeue;
      if (prequeue) prequeue.hidden = !data.prequeue;
      if (waiting) waiting.hidden = !!data.prequeue;
      if (!data.prequeue) {
        setText("position", data.position.toLocaleString());
        setText("ahead", data.ahead.toLocaleString());
        setText("eta", data.eta_text);
      }
      var bar = find("progress");
      if (bar) { bar.value = data.progress; bar.textContent = data.progress + "%"; }
      var paused = find("paused");
      if (paused) paused.hidden = !data.paused;
      showError("");
      delay = data.poll_seconds || delay;
      return true;
    }

    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          return response.json().then(function (data) { return { ok: response.ok, data: data }; });
        })
        .then(function (result) {
          if (!result.ok) {
            var problem = new Error(result.data && result.data.error);
            problem.fromServer = true;  // the server's message is in the page's language
            problem.retryAfter = result.data && result.data.retry_after;  // a rate limit says when
            throw problem;
          }
          failures = 0;
          if (apply(result.data)) schedule(delay);
        })
        .catch(function (error) {
          failures += 1;
          // A network failure's message is the browser's own (English): the page's translated text instead.
          showError(error && error.fromServer && error.message ? error.message : room.getAttribute("data-text-offline"));
          var wait = error && error.retryAfter ? error.retryAfter : delay * Math.pow(2, failures);
          schedule(Math.min(60, Math.max(1, wait)));
        });
    }

    function schedule(seconds) {
      // Jitter (±20 %) so thousands of open pages do not poll in lockstep; in the pre-queue only later,
      // never before the moment the server picked after the opening.
      var factor = inPrequeue ? 1 + 0.2 * Math.random() : 0.8 + 0.4 * Math.random();
      window.setTimeout(poll, seconds * factor * 1000);
    }

    schedule(delay);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var rooms = document.querySelectorAll("[data-queue-room]");
    for (var i = 0; i < rooms.length; i++) start(rooms[i]);
  });
})();
