/* Frontrow: the live seat map. The page works without this file; with it, the open map stays true.
 *
 * form[data-state-url] (booking/_seat_page.html) asks its URL every data-state-every seconds which seats are taken
 * ({"taken": [numbers]}), sending the ETag it last had (the page carries the first: data-state-etag), so
 * nothing changed costs a 304. A seat the page showed as free that is taken now greys out, is unticked and
 * disabled (data-taken), and the notes above the map say which ([data-seat-note-unticked] for the fan's own
 * picks, [data-seat-note-taken] for the rest); a seat the page showed as taken that is free now is listed in
 * [data-seat-note-freed] with a link to reload. Screen readers hear the changes through [data-seat-announce].
 *
 * It stops while the page is hidden (and asks at once when it is shown again), for good when the answer says
 * the fan is no longer admitted or logged in, and waits longer after errors and Retry-After on a 429.
 */
(function () {
  "use strict";
  var MAX_BACKOFF_SECONDS = 60;

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? String(values[key]) : all; });
  }

  function byNumber(a, b) { return a - b; }

  function liveMap(form) {
    var url = form.getAttribute("data-state-url");
    if (!url || !window.fetch) return;
    var etag = form.getAttribute("data-state-etag") || "";
    var POLL_SECONDS = parseInt(form.getAttribute("data-state-every") || "5", 10) || 5;  // SEAT_MAP_POLL_SECONDS
    var seats = {};  // seat number -> its .seat element, as the page drew it
    form.querySelectorAll(".seat[data-seat]").forEach(function (el) { seats[el.getAttribute("data-seat")] = el; });
    var taken = {}, unticked = {}, freed = {};  // what changed since the page was drawn, by seat number
    var announce = form.querySelector("[data-seat-announce]");
    var timer = null, stopped = false, asking = false, failures = 0;

    function list(set) { return Object.keys(set).map(Number).sort(byNumber).join(", "); }

    function note(selector, set) {
      var el = form.querySelector(selector);
      if (!el) return;
      var textEl = el.hasAttribute("data-text") ? el : el.querySelector("[data-text]");
      var seatsText = list(set);
      textEl.textContent = seatsText ? fill(textEl.getAttribute("data-text"), {seats: seatsText}) : "";
      el.hidden = !seatsText;
    }

    function markTaken(number, el, input) {
      input.setAttribute("data-taken", "");
      input.setAttribute("data-free-label", input.getAttribute("aria-label") || "");
      var price = el.querySelector(".seat-price");
      input.setAttribute("aria-label", fill(form.getAttribute("data-text-seat-taken") || "", {
        number: number, price: price ? price.textContent : ""
      }));
      if (input.checked) {
        input.checked = false;
        unticked[number] = true;
      } else {
        taken[number] = true;
      }
      input.disabled = true;
      el.classList.add("is-taken");
    }

    function markFreeAgain(number, el, input) {
      input.removeAttribute("data-taken");
      input.setAttribute("aria-label", input.getAttribute("data-free-label") || "");
      input.disabled = false;
      el.classList.remove("is-taken");
      delete taken[number];
      delete unticked[number];
    }

    function apply(numbers) {
      var now = {};
      numbers.forEach(function (n) { now[String(n)] = true; });
      var newlyUnticked = [], newlyTaken = [], changed = false;
      Object.keys(seats).forEach(function (number) {
        var el = seats[number];
        var input = el.querySelector('input[name="seats"]');
        if (input) {  // drawn free
          if (now[number] && !input.hasAttribute("data-taken")) {
            var wasTicked = input.checked;
            markTaken(number, el, input);
            (wasTicked ? newlyUnticked : newlyTaken).push(number);
            changed = true;
          } else if (!now[number] && input.hasAttribute("data-taken")) {
            markFreeAgain(number, el, input);
            changed = true;
          }
        } else if (now[number] && freed[number]) {  // drawn taken, was free for a while, taken again
          delete freed[number];
          changed = true;
        } else if (!now[number] && !freed[number]) {  // drawn taken (or the fan's own), free now
          freed[number] = true;
          changed = true;
        }
      });
      if (!changed) return;
      note("[data-seat-note-unticked]", unticked);
      note("[data-seat-note-taken]", taken);
      note("[data-seat-note-freed]", freed);
      form.dispatchEvent(new CustomEvent("seats-changed"));  // site.js recounts the selection
      if (announce && (newlyUnticked.length || newlyTaken.length)) {
        var parts = [];
        if (newlyUnticked.length) {
          parts.push(fill(form.querySelector("[data-seat-note-unticked]").getAttribute("data-text"), {
            seats: newlyUnticked.join(", ")
          }));
        }
        if (newlyTaken.length) {
          parts.push(fill(form.querySelector("[data-seat-note-taken]").getAttribute("data-text"), {
            seats: list(taken)
          }));
        }
        announce.textContent = parts.join(" ");
      }
    }

    function schedule(seconds) {
      window.clearTimeout(timer);
      timer = null;
      if (stopped || document.hidden) return;
      // A little spread, so maps opened in the same second do not all ask in the same second.
      timer = window.setTimeout(poll, (seconds + Math.random()) * 1000);
    }

    function poll() {
      timer = null;
      if (stopped || asking || document.hidden) return;
      asking = true;
      var headers = {"Accept": "application/json"};
      if (etag) headers["If-None-Match"] = etag;
      // no-store: the browser's cache stays out of it, so the 304 (our If-None-Match) reaches this script.
      window.fetch(url, {headers: headers, credentials: "same-origin", cache: "no-store", redirect: "manual"})
        .then(function (response) {
          asking = false;
          if (response.status === 304) {
            failures = 0;
            return schedule(POLL_SECONDS);
          }
          if (response.status === 200) {
            failures = 0;
            etag = response.headers.get("ETag") || "";
            return response.json().then(function (body) {
              apply(body.taken || []);
              schedule(POLL_SECONDS);
            });
          }
          if (response.status === 429) {
            return schedule(parseInt(response.headers.get("Retry-After") || "", 10) || POLL_SECONDS * 4);
          }
          if (response.status === 403 || response.type === "opaqueredirect" || response.status === 0) {
            stopped = true;  // no longer admitted, or logged out: the next click on the page says so
            return;
          }
          throw new Error("seat state: " + response.status);
        })
        .catch(function () {
          asking = false;
          failures += 1;
          schedule(Math.min(POLL_SECONDS * Math.pow(2, failures), MAX_BACKOFF_SECONDS));
        });
    }

    document.addEventListener("visibilitychange", function () {
      if (document.hidden) {
        window.clearTimeout(timer);
        timer = null;
      } else if (!timer) {
        poll();
      }
    });
    schedule(POLL_SECONDS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-state-url]").forEach(liveMap);
  });
})();
