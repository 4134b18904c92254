// Small progressive enhancements. Every page works without this script.

// Show times in the reader's own time zone.
for (const el of document.querySelectorAll("time[datetime]")) {
  const at = new Date(el.getAttribute("datetime"));
  if (!Number.isNaN(at.getTime())) {
    el.title = el.textContent;
    el.textContent = at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }
}

// Filters that apply as soon as they change.
for (const el of document.querySelectorAll("[data-autosubmit]")) {
  el.addEventListener("change", () => el.form.requestSubmit());
}

for (const el of document.querySelectorAll("[data-back]")) {
  el.addEventListener("click", (event) => {
    if (history.length > 1) {
      event.preventDefault();
      history.back();
    }
  });
}

// Keyboard shortcuts: i = inbox, n = new case, c = focus the note box.
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
  const field = document.querySelector(`[data-key-focus="${event.key}"]`);
  if (field) {
    event.preventDefault();
    field.focus();
    return;
  }
  const link = document.querySelector(`a[data-key="${event.key}"]`);
  if (link) {
    event.preventDefault();
    link.click();
  } else if (event.key === "c") {
    const note = document.getElementById("note-body");
    if (note) {
      event.preventDefault();
      note.focus();
    }
  }
});

// Live updates: tell the reader when what they look at has changed.
const caseEl = document.querySelector("[data-case]");
const inboxEl = document.querySelector("[data-live='inbox']");
if ((caseEl || inboxEl) && "EventSource" in window) {
  const status = document.querySelector(".live");
  const events = new EventSource("/events");
  events.addEventListener("case", (message) => {
    const change = JSON.parse(message.data);
    if (caseEl && String(change.number) === caseEl.dataset.case) {
      const hint = document.querySelector("[data-live-hint]");
      if (hint) hint.hidden = false;
    } else if (inboxEl && status) {
      status.textContent = `Case #${change.number} changed — reload to see it.`;
      status.hidden = false;
    }
  });
}
