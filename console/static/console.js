// The review console's behaviour: the keys of the inbox and of a lead's page, focus for
// #edit-body and #reject-reason, and the dashboard's live figures. No inline scripts: the
// pages forbid them.
"use strict";

(function () {
  function rows() {
    return Array.from(document.querySelectorAll("tr[data-item]"));
  }

  function select(all, index) {
    all.forEach(function (row, i) {
      row.classList.toggle("current", i === index);
      row.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (all[index]) all[index].scrollIntoView({ block: "nearest" });
  }

  function toggleKeys() {
    var keys = document.getElementById("keys");
    if (keys) keys.open = !keys.open;
  }

  // The inbox: the server marks the current row (the one after the last decision); the
  // keys move it and act on it through the row's own forms and links.
  function inboxKey(key, all) {
    var index = all.findIndex(function (row) { return row.classList.contains("current"); });
    var row = all[index];
    switch (key) {
      case "j": select(all, Math.min(index + 1, all.length - 1)); return true;
      case "k": select(all, Math.max(index - 1, 0)); return true;
      case "x": if (row) { var box = row.querySelector("input[type=checkbox]"); box.checked = !box.checked; } return true;
      case "a": if (row && row.querySelector("form.approve")) row.querySelector("form.approve").requestSubmit(); return true;
      case "e": if (row) window.location.assign(row.dataset.href + "#edit-body"); return true;
      case "r":
        if (row) {
          var decline = row.querySelector("details.decline");
          decline.open = true;
          decline.querySelector("input[name=reason]").focus();
        }
        return true;
      case "Enter": if (row) window.location.assign(row.dataset.href); return true;
      default: return false;
    }
  }

  // A lead's page: decide on its open item; each decision opens the next item.
  function leadKey(key) {
    var approve = document.getElementById("approve-form");
    var decline = document.getElementById("reject-reason");
    if (!approve && !decline) return false;
    switch (key) {
      case "a": if (approve) approve.requestSubmit(); return true;
      case "e": focusField(document.getElementById("edit-body")); return true;
      case "r": focusField(decline); return true;
      case "i": window.location.assign("/"); return true;
      default: return false;
    }
  }

  // A field inside a folded part (the edit form) unfolds it first.
  function focusField(field) {
    if (!field) return;
    var fold = field.closest("details");
    if (fold) fold.open = true;
    field.scrollIntoView({ block: "center" });
    field.focus();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (!target.closest) return;
    if (target.closest("input, textarea, select, button")) {
      var open = target.closest("details.decline");
      if (event.key === "Escape" && open) {
        open.open = false;
        target.blur();
      }
      return;
    }
    if (target.closest("summary") && (event.key === "Enter" || event.key === " ")) return;
    var all = rows();
    var done = event.key === "?" ? (toggleKeys(), true) : all.length ? inboxKey(event.key, all) : leadKey(event.key);
    if (done) event.preventDefault();
  });

  // A bulk action's cursor: the first row after the current one that is not selected,
  // so that the inbox opens again on the next row still to decide.
  function bulkCursor() {
    var bulk = document.getElementById("bulk");
    if (!bulk) return;
    bulk.addEventListener("submit", function () {
      var all = rows();
      var index = Math.max(0, all.findIndex(function (row) { return row.classList.contains("current"); }));
      var free = all.filter(function (row) { return !row.querySelector("input[type=checkbox]").checked; });
      var after = free.find(function (row) { return all.indexOf(row) > index; }) || free[free.length - 1];
      document.getElementById("bulk-cursor").value = after ? after.dataset.item : "";
    });
  }

  function showCurrent() {
    var current = document.querySelector("tr[data-item].current");
    if (current && current !== rows()[0]) current.scrollIntoView({ block: "center" });
  }

  // The fragment names the field itself: a fragment naming an element that cannot take
  // focus (the form) would make Chromium drop the focus again when it scrolls there.
  function focusFromHash() {
    var field = window.location.hash && document.getElementById(window.location.hash.slice(1));
    if (field && field.matches("input, textarea")) focusField(field);
  }

  function live() {
    var board = document.getElementById("dashboard");
    if (!board || !window.EventSource) return;
    var status = document.getElementById("live");
    var source = new EventSource(board.dataset.stream);
    source.addEventListener("open", function () {
      status.textContent = "live";
      document.body.dataset.live = "open";
    });
    source.addEventListener("error", function () {
      status.textContent = "reconnecting…";
      document.body.dataset.live = "closed";
    });
    source.addEventListener("counts", function (event) {
      var counts = JSON.parse(event.data);
      board.querySelectorAll("[data-count]").forEach(function (cell) {
        var value = counts[cell.dataset.count];
        cell.textContent = value === undefined ? "0" : String(value);
      });
      rules(counts.rules || []);
      document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
    });
  }

  // The failures by rule, most failed first, rebuilt from [rule, count] pairs as text
  // nodes: nothing in an event is parsed as HTML.
  function rules(pairs) {
    var table = document.getElementById("rules");
    if (!table) return;
    var body = document.createElement("tbody");
    pairs.forEach(function (pair) {
      var row = body.insertRow();
      row.dataset.rule = pair[0];
      var code = document.createElement("code");
      code.textContent = pair[0];
      row.insertCell().appendChild(code);
      var count = row.insertCell();
      count.className = "n";
      count.textContent = String(pair[1]);
    });
    table.replaceChildren(body);
    document.getElementById("no-rules").hidden = pairs.length > 0;
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusFromHash();
    showCurrent();
    bulkCursor();
    live();
  });
})();
