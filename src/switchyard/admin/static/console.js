// The console's only script. Pages work without it; it adds a copy button, live countdowns and a
// confirmation before destructive forms. No inline scripts: the pages' CSP allows only this file.
"use strict";

function formatDuration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days) return days + "d " + hours + "h";
  if (hours) return hours + "h " + minutes + "m";
  if (minutes) return minutes + "m";
  return seconds + "s";
}

function tickCountdowns() {
  const now = Date.now() / 1000;
  document.querySelectorAll("time[data-countdown]").forEach((node) => {
    const left = parseFloat(node.dataset.countdown) - now;
    node.textContent = left <= 0 ? "now" : "in " + formatDuration(left);
  });
}

function setUpCopy() {
  document.querySelectorAll("[data-copy]").forEach((button) => {
    button.addEventListener("click", async () => {
      const source = document.querySelector(button.dataset.copy);
      if (!source) return;
      const text = source.textContent.trim();
      try {
        await navigator.clipboard.writeText(text);
      } catch (error) {
        // Plain http (no secure context) has no clipboard API: select the text for Ctrl+C instead.
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      }
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = "Copy"; }, 2000);
    });
  });
}

function setUpConfirm() {
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setUpCopy();
  setUpConfirm();
  tickCountdowns();
  setInterval(tickCountdowns, 15000);
});
