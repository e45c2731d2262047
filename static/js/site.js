/* Frontrow: small enhancements only. Every page works without this file.
 * - [data-countdown-seconds]: live countdown (sale opening, hold expiry); it replaces a sibling
 *   [data-countdown-fallback] (the deadline as text, for pages without JavaScript). At zero a hold's
 *   countdown shows [data-show-on-expiry], hides [data-hide-on-expiry] and the page's success messages;
 *   any countdown shows its data-zero-text and the page's [data-show-at-zero]. No countdown reloads the
 *   page: at a sale's opening every open page would do it in the same second.
 * - form[data-seat-form]: selected-seat counter, total and the per-date limit; the selection read out to
 *   screen readers ([data-seat-announce]) as it changes (static/js/seat-map.js keeps the seats up to date)
 * - [data-quick-amount]: top-up shortcuts
 * - form[data-submit-once]: a double click submits once
 * - [data-print]: a Print button (hidden without JavaScript, where the browser's own Print does the same)
 */
(function () {
  "use strict";
  // The page's translated formats (base.html's body: data-text-won, data-text-day, data-text-days).
  function text(name, fallback) { return (document.body && document.body.getAttribute("data-text-" + name)) || fallback; }

  function won(n) {
    var digits = Math.abs(n).toLocaleString("en-US");
    var sign = n < 0 ? "-" : "";
    return sign + fill(text("won", "₩{amount}"), {amount: digits});
  }

  // "{count} of {limit}" with the values: the pages' translated texts for scripts use these placeholders.
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? String(values[key]) : all; });
  }

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function clock(total) {
    total = Math.max(0, Math.floor(total));
    var d = Math.floor(total / 86400), h = Math.floor(total % 86400 / 3600);
    var m = Math.floor(total % 3600 / 60), s = total % 60;
    if (d) {
      var day = fill(d === 1 ? text("day", "{count} day") : text("days", "{count} days"), {count: d});
      return day + " " + pad(h) + ":" + pad(m) + ":" + pad(s);
    }
    if (h) return h + ":" + pad(m) + ":" + pad(s);
    return m + ":" + pad(s);
  }

  function startCountdown(el) {
    var seconds = parseInt(el.getAttribute("data-countdown-seconds"), 10);
    if (isNaN(seconds)) return;
    var deadline = Date.now() + seconds * 1000;
    var box = el.closest("[data-timer-box]");
    var urgentAt = parseInt(el.getAttribute("data-urgent-seconds") || "60", 10);
    var finished = false;
    var fallback = el.parentNode.querySelector("[data-countdown-fallback]");
    if (fallback) fallback.hidden = true;
    el.hidden = false;
    function tick() {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      el.textContent = clock(left);
      el.setAttribute("datetime", "PT" + left + "S");
      if (box) box.classList.toggle("is-urgent", left > 0 && left <= urgentAt);
      if (left === 0 && !finished) {
        finished = true;
        onZero(el, box);
        return;
      }
      window.setTimeout(tick, 1000 - (Date.now() % 1000) + 20);
    }
    tick();
  }

  function onZero(el, box) {
    // Never reload at zero: thousands of open pages would all ask the server in the same second.
    var zeroText = el.getAttribute("data-zero-text");
    if (zeroText) el.textContent = zeroText;
    document.querySelectorAll("[data-show-at-zero]").forEach(function (e) { e.hidden = false; });
    var text = el.getAttribute("data-expired-text");
    if (text) {
      var note = box && box.querySelector("[data-timer-note]");
      if (note) note.textContent = text;
      // "Seats held, pay in time" is no longer true: say the hold ended and offer to choose again.
      document.querySelectorAll(".messages .message-success").forEach(function (m) { m.hidden = true; });
      document.querySelectorAll("[data-hide-on-expiry]").forEach(function (e) { e.hidden = true; });
      document.querySelectorAll("[data-show-on-expiry]").forEach(function (e) { e.hidden = false; });
    }
    if (box) { box.classList.remove("is-urgent"); box.classList.add("is-over"); }
    document.querySelectorAll("[data-disable-on-expiry]").forEach(function (btn) {
      btn.disabled = true;
    });
  }

  function seatForm(form) {
    var limit = parseInt(form.getAttribute("data-limit") || "0", 10);
    var boxes = Array.prototype.slice.call(form.querySelectorAll('input[name="seats"]'));
    var counters = document.querySelectorAll("[data-selected-count]");
    var totals = document.querySelectorAll("[data-selected-total]");
    var lists = document.querySelectorAll("[data-selected-list]");
    var submits = document.querySelectorAll("[data-hold-submit]");
    var announce = form.querySelector("[data-seat-announce]");
    function update(event) {
      var picked = boxes.filter(function (b) { return b.checked; });
      var total = picked.reduce(function (sum, b) { return sum + parseInt(b.getAttribute("data-price") || "0", 10); }, 0);
      counters.forEach(function (c) { c.textContent = picked.length + " / " + limit; });
      totals.forEach(function (t) { t.textContent = won(total); });
      var names = picked.map(function (b) { return b.value; }).join(", ");
      lists.forEach(function (l) { l.textContent = names || l.getAttribute("data-empty") || ""; });
      boxes.forEach(function (b) {
        // A seat the live map found taken (seat-map.js: data-taken) stays disabled whatever the count.
        var blocked = !b.checked && picked.length >= limit;
        b.disabled = blocked || b.hasAttribute("data-taken");
        b.closest(".seat").classList.toggle("is-blocked", blocked && !b.hasAttribute("data-taken"));
      });
      submits.forEach(function (s) { s.disabled = picked.length === 0; });
      // Screen readers hear the selection when the fan changes it (not when the page loads).
      if (announce && event && event.target && event.target.name === "seats") {
        announce.textContent = picked.length
          ? fill(form.getAttribute("data-text-selection") || "", {count: picked.length, limit: limit, seats: names, total: won(total)})
          : form.getAttribute("data-text-selection-none") || "";
      }
    }
    form.addEventListener("change", update);
    form.addEventListener("seats-changed", update);  // seat-map.js unticked or disabled seats taken meanwhile
    update();
  }

  function quickAmounts() {
    document.querySelectorAll("[data-quick-amount]").forEach(function (btn) {
      var target = document.getElementById(btn.getAttribute("data-target"));
      if (!target) return;
      btn.hidden = false;
      btn.addEventListener("click", function () {
        var current = parseInt((target.value || "0").replace(/[^0-9]/g, ""), 10) || 0;
        target.value = String(current + parseInt(btn.getAttribute("data-quick-amount"), 10));
        target.focus();
      });
    });
    document.querySelectorAll("[data-quick-amounts]").forEach(function (box) { box.hidden = false; });
  }

  function submitOnce(form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-submitting") === "1") {
        event.preventDefault();
        return;
      }
      form.setAttribute("data-submitting", "1");
      // Disable after the submission has captured the clicked button's name and value.
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (b) {
          b.disabled = true;
          b.classList.add("is-busy");
        });
      }, 0);
    });
  }

  function printButton(btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () { window.print(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-countdown-seconds]").forEach(startCountdown);
    document.querySelectorAll("form[data-seat-form]").forEach(seatForm);
    document.querySelectorAll("form[data-submit-once]").forEach(submitOnce);
    quickAmounts();
    document.querySelectorAll("[data-print]").forEach(printButton);
  });
})();
