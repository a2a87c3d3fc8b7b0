// Keyboard shortcuts for the review queue. Everything they do is also reachable without JavaScript:
// j/k move the selection, a approves (submits the row's own approve form), r opens the draft at the
// reject form, e opens it for editing, ? shows the help.
(function () {
  "use strict";
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#queue tr.row")); }
  function selected() { return document.querySelector("#queue tr.row.selected"); }
  function select(row) {
    var old = selected();
    if (old) { old.classList.remove("selected"); old.removeAttribute("aria-selected"); }
    if (row) { row.classList.add("selected"); row.setAttribute("aria-selected", "true"); row.scrollIntoView({block: "nearest"}); }
  }
  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var index = all.indexOf(selected());
    var next = index < 0 ? 0 : Math.min(Math.max(index + step, 0), all.length - 1);
    select(all[next]);
  }
  function toggleHelp(show) {
    var help = document.getElementById("keys-help");
    if (help) { help.hidden = show === undefined ? !help.hidden : !show; }
  }
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (!document.getElementById("queue") && event.key !== "?") { return; }
    var row = selected();
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "a":
        if (row) { var form = row.querySelector("form.approve-form"); if (form) { form.submit(); } }
        break;
      case "r": if (row) { window.location.href = row.getAttribute("data-href") + "?focus=reject"; } break;
      case "e": if (row) { window.location.href = row.getAttribute("data-href") + "?focus=edit"; } break;
      case "?": toggleHelp(); break;
      case "Escape": toggleHelp(false); break;
      default: return;
    }
    event.preventDefault();
  });
  document.addEventListener("DOMContentLoaded", function () {
    var close = document.getElementById("keys-close");
    if (close) { close.addEventListener("click", function () { toggleHelp(false); }); }
    var all = rows();
    if (all.length) { select(all[0]); }
    // a draft opened with r or e: put the cursor where the moderator goes next
    var focus = new URLSearchParams(window.location.search).get("focus");
    var target = document.getElementById(focus === "reject" ? "reason" : focus === "edit" ? "reply" : "");
    if (target) { target.focus(); }
  });
}());
