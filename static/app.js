// Small progressive enhancements; every page works without this file.
"use strict";
document.addEventListener("submit", (ev) => {
  // Buttons that destroy something ask first (data-confirm holds the translated question).
  const button = ev.submitter;
  const question = button && button.dataset ? button.dataset.confirm : null;
  if (question && !window.confirm(question)) {
    ev.preventDefault();
  }
});

// Entitlement form: "add a row" copies the last service-history row with the next index.
document.documentElement.classList.add("has-js");
document.addEventListener("click", (ev) => {
  const add = ev.target.closest ? ev.target.closest("#history-add") : null;
  if (!add) return;
  const rows = document.querySelectorAll("#history .history-row");
  const last = rows[rows.length - 1];
  if (!last) return;
  const next = Number(last.dataset.row) + 1;
  const copy = last.cloneNode(true);
  copy.dataset.row = String(next);
  copy.querySelectorAll("[name]").forEach((el) => {
    el.name = el.name.replace(/^history\[\d+\]/, "history[" + next + "]");
    if (el.type === "checkbox") el.checked = false;
    else if (el.tagName === "SELECT") el.selectedIndex = 0;
    else el.value = "";
  });
  copy.querySelectorAll(".field-error").forEach((el) => { el.textContent = ""; });
  last.after(copy);
});
