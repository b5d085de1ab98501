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
