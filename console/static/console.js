// The review console's behaviour: keyboard moves in the inbox, focus for #edit-body and
// #reject-reason, and the dashboard's live figures. No inline scripts: the pages forbid them.
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

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest && event.target.closest("input, textarea, select, button")) return;
    var all = rows();
    if (!all.length) return;
    var index = all.findIndex(function (row) { return row.classList.contains("current"); });
    var row = all[index];
    switch (event.key) {
      case "j": select(all, Math.min(index + 1, all.length - 1)); break;
      case "k": select(all, Math.max(index - 1, 0)); break;
      case "x": if (row) { var box = row.querySelector("input[type=checkbox]"); box.checked = !box.checked; } break;
      case "a": if (row) row.querySelector("form.approve").requestSubmit(); break;
      case "e": if (row) window.location.assign(row.dataset.href + "#edit-body"); break;
      case "r": if (row) window.location.assign(row.dataset.href + "#reject-reason"); break;
      case "Enter": if (row) window.location.assign(row.dataset.href); break;
      default: return;
    }
    event.preventDefault();
  });

  // The fragment names the field itself: a fragment naming an element that cannot take
  // focus (the form) would make Chromium drop the focus again when it scrolls there.
  function focusFromHash() {
    var field = window.location.hash && document.getElementById(window.location.hash.slice(1));
    if (field && field.matches("input, textarea")) field.focus();
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
    live();
  });
})();
