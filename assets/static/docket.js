// Small progressive enhancements. Every page works without this script.
document.documentElement.classList.add("js");

// Show times in the reader's own time zone.
function localizeTimes(root) {
  for (const el of root.querySelectorAll("time[datetime]:not([data-keep])")) {
    const at = new Date(el.getAttribute("datetime"));
    if (!Number.isNaN(at.getTime())) {
      el.title = el.textContent;
      el.textContent = at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
    }
  }
}
localizeTimes(document);
window.docketLocalize = localizeTimes;

// The new case form shows a type's profile fields the moment it is chosen.
const newCaseType = document.querySelector("#new-case-form [data-profile-source]");
if (newCaseType) {
  newCaseType.addEventListener("change", async () => {
    const url = `${newCaseType.dataset.profileSource}?type=${encodeURIComponent(newCaseType.value.trim())}`;
    const response = await fetch(url, { headers: { accept: "text/html" } });
    // A login page (the session ended) is no list of fields.
    if (response.ok && !response.redirected) {
      document.getElementById("profile-fields").innerHTML = await response.text();
    }
  });
}

// What cannot simply be undone asks first.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

// The case page's workspace has its own module.
if (document.querySelector(".workspace")) import("/static/case.js");

// `?` lists the shortcuts of the page.
const SHORTCUTS = {
  all: [["/", "Search"], ["i", "Inbox"], ["?", "Show these shortcuts"]],
  inbox: [["j / k", "Next / previous case"], ["Enter", "Open the case"]],
  case: [["r", "Reply"], ["n", "Internal note"], ["a", "Assign to me"], ["s", "Status"], ["e", "Close the case"]],
};

function showShortcuts() {
  let dialog = document.getElementById("shortcuts");
  if (!dialog) {
    dialog = document.createElement("dialog");
    dialog.id = "shortcuts";
    dialog.setAttribute("aria-labelledby", "shortcuts-h");
    const title = document.createElement("h2");
    title.id = "shortcuts-h";
    title.textContent = "Keyboard shortcuts";
    const list = document.createElement("dl");
    const page = document.querySelector(".workspace") ? "case" : document.getElementById("inbox") ? "inbox" : null;
    for (const [key, what] of [...(page ? SHORTCUTS[page] : []), ...SHORTCUTS.all]) {
      const dt = document.createElement("dt");
      const kbd = document.createElement("kbd");
      kbd.textContent = key;
      dt.append(kbd);
      const dd = document.createElement("dd");
      dd.textContent = what;
      list.append(dt, dd);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close";
    close.addEventListener("click", () => dialog.close());
    dialog.append(title, list, close);
    document.body.append(dialog);
  }
  dialog.showModal();
}

for (const el of document.querySelectorAll("[data-back]")) {
  el.addEventListener("click", (event) => {
    if (history.length > 1) {
      event.preventDefault();
      history.back();
    }
  });
}

// Keyboard shortcuts: / = search, i = inbox, n = new case, c = note box.
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
  if (document.querySelector("dialog[open]")) return;
  if (event.key === "?") {
    event.preventDefault();
    showShortcuts();
    return;
  }
  const key = CSS.escape(event.key);
  const field = document.querySelector(`[data-key-focus="${key}"]`);
  if (field) {
    event.preventDefault();
    field.focus();
    return;
  }
  const link = document.querySelector(`a[data-key="${key}"]`);
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

// The inbox refreshes in place: as the agent types, when a filter or the
// sort changes, and when cases arrive or change. The URL always holds the
// whole state.
const inbox = document.getElementById("inbox");
let searchTimer = null;
// Only the newest refresh may paint: an older, slower answer is dropped.
let latestRefresh = 0;

function formUrl(form) {
  const params = new URLSearchParams();
  for (const [key, value] of new FormData(form)) {
    if (String(value).trim() !== "") params.set(key, value);
  }
  const query = params.toString();
  return query ? `${form.action}?${query}` : form.action;
}

async function refreshInbox(url) {
  if (!inbox) return;
  const ticket = ++latestRefresh;
  const response = await fetch(url, { headers: { accept: "text/html" } });
  if (ticket !== latestRefresh) return;
  const text = await response.text();
  if (ticket !== latestRefresh) return;
  const page = new DOMParser().parseFromString(text, "text/html");
  const error = document.getElementById("query-error");
  const freshError = page.getElementById("query-error");
  if (response.status === 400 && freshError && !freshError.hidden) {
    // Keep the last good results, marked as stale, and say what is wrong.
    error.textContent = freshError.textContent;
    error.hidden = false;
    document.getElementById("q").setAttribute("aria-invalid", "true");
    document.getElementById("results").classList.add("stale");
    return;
  }
  if (!response.ok) return;
  const fresh = page.getElementById("inbox");
  if (!fresh) return;
  // Keep what the agent is doing in the search box.
  const box = document.getElementById("q");
  const typing = box && document.activeElement === box;
  const value = box ? box.value : "";
  const [start, end] = box ? [box.selectionStart, box.selectionEnd] : [0, 0];
  const scroll = window.scrollY;
  // Keep the agent's ticks and half-filled bulk form across the refresh.
  const ticked = new Set(
    [...inbox.querySelectorAll('input[name="numbers"]:checked')].map((box) => box.value),
  );
  const bulk = document.getElementById("bulk-form");
  const bulkValues = bulk ? [...bulk.elements].map((el) => [el.name, el.type, el.value, el.checked]) : [];
  inbox.replaceChildren(...fresh.childNodes);
  for (const box of inbox.querySelectorAll('input[name="numbers"]')) {
    box.checked = ticked.has(box.value);
  }
  const newBulk = document.getElementById("bulk-form");
  if (newBulk) {
    for (const [name, type, value, checked] of bulkValues) {
      if (!name || name === "csrf") continue;
      for (const el of newBulk.elements) {
        if (el.name !== name) continue;
        if (type === "radio" || type === "checkbox") {
          if (el.value === value) el.checked = checked;
        } else if (el.type !== "hidden") {
          el.value = value;
        }
      }
    }
  }
  updateSelectedCount();
  showBulkPickers();
  localizeTimes(inbox);
  const newBox = document.getElementById("q");
  if (newBox && typing) {
    newBox.value = value;
    newBox.focus();
    newBox.setSelectionRange(start, end);
  }
  window.scrollTo(0, scroll);
  history.replaceState(null, "", url);
}

function refreshSoon(url, delay) {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    refreshInbox(url || location.href).catch(() => {});
  }, delay);
}

document.addEventListener("input", (event) => {
  if (event.target.matches("[data-live-search]")) {
    refreshSoon(formUrl(event.target.form), 200);
  }
});

document.addEventListener("change", (event) => {
  const el = event.target;
  if (!el.matches("[data-autosubmit]")) return;
  if (inbox && el.form && el.form.id === "search-form") {
    refreshSoon(formUrl(el.form), 0);
  } else if (el.form) {
    el.form.requestSubmit();
  }
});

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (inbox && form.id === "search-form") {
    event.preventDefault();
    refreshSoon(formUrl(form), 0);
  }
});

// Bulk actions: tick all on the page, count the ticks, confirm what cannot
// be undone, and show that a large selection is being worked on.
function updateSelectedCount() {
  const ticked = document.querySelectorAll('input[name="numbers"]:checked').length;
  const count = document.querySelector("[data-selected-count]");
  if (count) count.textContent = ticked;
  // The bulk bar shows only while cases are ticked.
  const bulk = document.getElementById("bulk-form");
  if (bulk) bulk.hidden = ticked === 0 && !bulk.elements.scope[1].checked;
}

// The bulk bar offers the picker of the chosen action only.
function showBulkPickers() {
  const action = document.querySelector("[data-bulk-action]");
  if (!action) return;
  for (const picker of document.querySelectorAll("[data-for-action]")) {
    picker.hidden = picker.dataset.forAction !== action.value;
  }
  const confirm = document.querySelector(".bulk .confirm");
  if (confirm) confirm.hidden = !["close", "delete", "move"].includes(action.value);
}
updateSelectedCount();
showBulkPickers();
document.addEventListener("change", (event) => {
  if (event.target.matches("[data-bulk-action]")) showBulkPickers();
});

// j and k move through the inbox's cases, Enter opens the one marked.
let marked = -1;
function markRow(step) {
  const rows = [...document.querySelectorAll("table.cases tbody tr")];
  if (rows.length === 0) return;
  marked = Math.max(0, Math.min(rows.length - 1, marked + step));
  rows.forEach((row, i) => row.classList.toggle("marked", i === marked));
  const link = rows[marked].querySelector("a.subject");
  if (link) link.focus();
}
document.addEventListener("keydown", (event) => {
  if (!inbox || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest && event.target.closest("input, textarea, select")) return;
  if (event.key === "j") markRow(1);
  else if (event.key === "k") markRow(-1);
  else return;
  event.preventDefault();
});

document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("[data-select-all]")) {
    for (const box of document.querySelectorAll('input[name="numbers"]')) box.checked = el.checked;
  }
  if (el.matches('[data-select-all], input[name="numbers"]')) updateSelectedCount();
});

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches("[data-bulk]")) return;
  const action = form.elements.action.value;
  const all = form.elements.scope.value === "all";
  const ticked = document.querySelectorAll('input[name="numbers"]:checked').length;
  const confirmBox = form.elements.confirm;
  if (["close", "delete", "move"].includes(action) && !confirmBox.checked) {
    const what = all ? "every matching case" : `${ticked} case(s)`;
    if (!window.confirm(`${action[0].toUpperCase()}${action.slice(1)} ${what}? This cannot simply be undone.`)) {
      event.preventDefault();
      return;
    }
    confirmBox.checked = true;
  }
  form.querySelector("[data-bulk-progress]").hidden = false;
  form.querySelector("button[type=submit]").disabled = true;
});

// Live updates (the case page follows its own case in case.js).
if (inbox && "EventSource" in window) {
  const events = new EventSource("/events");
  let last = 0;
  events.addEventListener("case", () => {
    // At most one refresh a second, however busy the help desk is.
    const now = Date.now();
    const wait = Math.max(0, 1000 - (now - last));
    last = now + wait;
    refreshSoon(null, wait);
  });
}
