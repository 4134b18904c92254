// The case page as a workspace: properties save as they change, the
// composer switches between a reply and an internal note, the subject is
// edited in place, long threads unfold, and the conversation follows live
// changes. Without this script every form still posts and redirects.

const workspace = document.querySelector(".workspace");
const number = workspace.dataset.case;
const me = workspace.dataset.me;
const announcer = document.querySelector("p.live");

// Says something briefly, for the eye and for screen readers.
let announceTimer = null;
export function announce(text) {
  if (!announcer) return;
  announcer.textContent = text;
  announcer.hidden = false;
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => {
    announcer.hidden = true;
  }, 2500);
}

// Posts fields to the properties endpoint; resolves to the JSON answer and
// whether it was a success.
async function saveFields(entries) {
  const form = document.getElementById("properties") || document.getElementById("subject-form");
  const body = new URLSearchParams();
  body.set("csrf", form.elements.csrf.value);
  for (const [name, value] of entries) body.append(name, value);
  let response;
  try {
    response = await fetch(`/cases/${number}/properties`, {
      method: "POST",
      headers: { "x-docket-fetch": "1", "content-type": "application/x-www-form-urlencoded" },
      body,
    });
  } catch {
    return { ok: false, answer: { message: "The server cannot be reached; nothing was saved. Try again.", errors: [] } };
  }
  let answer;
  try {
    answer = await response.json();
  } catch {
    answer = { message: `The server answered ${response.status}; nothing was saved.`, errors: [] };
  }
  return { ok: response.ok, answer };
}

function fieldBox(name) {
  return document.querySelector(`[data-field="${CSS.escape(name)}"]`);
}

function clearErrors(root) {
  for (const box of root.querySelectorAll(".field.invalid")) box.classList.remove("invalid");
  for (const p of root.querySelectorAll(".field-error")) {
    p.hidden = true;
    p.textContent = "";
  }
}

function showErrors(answer, fallbackField) {
  const state = document.getElementById("save-state");
  let placed = false;
  for (const error of answer.errors || []) {
    const box = fieldBox(error.field);
    if (!box) continue;
    box.classList.add("invalid");
    const p = box.querySelector(".field-error");
    if (p) {
      p.textContent = error.message;
      p.hidden = false;
    }
    placed = true;
  }
  if (!placed && fallbackField) {
    const box = fieldBox(fallbackField);
    const p = box && box.querySelector(".field-error");
    if (p) {
      box.classList.add("invalid");
      p.textContent = answer.message;
      p.hidden = false;
    }
  }
  if (state) {
    state.className = "save-state failed";
    state.textContent = answer.message;
  }
  announce(answer.message);
}

function showSaved(answer) {
  const state = document.getElementById("save-state");
  if (state) {
    state.className = "save-state saved";
    state.textContent = answer.message;
  }
  announce(answer.message);
}

// Refreshes the parts of the page a change shows in, from the page itself.
let refreshing = null;
export async function refreshCase() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    const response = await fetch(location.href, { headers: { accept: "text/html" } });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const selector of [".thread", ".ws-badges", "#milestones", ".details", "#time", "#files", "#links", ".ws-actions"]) {
      const fresh = page.querySelector(selector);
      const current = document.querySelector(selector);
      if (fresh && current) current.replaceWith(fresh);
    }
    if (window.docketLocalize) window.docketLocalize(document);
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

// Properties save as they change.
const properties = document.getElementById("properties");
// A type waiting for its required profile fields before it is saved.
let pendingType = null;

function profileEntries() {
  return [...properties.querySelectorAll('[name^="profile."]')].map((el) => [el.name, el.value]);
}

function missingRequired() {
  return [...properties.querySelectorAll('#profile-fields [required]')].filter((el) => el.value.trim() === "");
}

async function chooseType(input) {
  const source = input.dataset.profileSource;
  const response = await fetch(`${source}?type=${encodeURIComponent(input.value.trim())}`, {
    headers: { accept: "text/html" },
  });
  // A login page (the session ended) is no list of fields.
  if (!response.ok || response.redirected) {
    announce("The type's fields could not be loaded; your session may have ended. Reload the page.");
    return;
  }
  document.getElementById("profile-fields").innerHTML = await response.text();
  const missing = missingRequired();
  if (missing.length === 0) {
    pendingType = null;
    return save([["case_type", input.value], ...profileEntries()], "case_type");
  }
  // Nothing is saved until the type's required fields have values.
  pendingType = input.value;
  for (const el of missing) {
    const box = el.closest(".field");
    box.classList.add("invalid");
    const p = box.querySelector(".field-error");
    p.textContent = "Required for this type: fill it in and the type is saved with it.";
    p.hidden = false;
  }
  const state = document.getElementById("save-state");
  state.className = "save-state pending";
  state.textContent = `The type ${input.value} needs ${missing.length} more field(s) before it is saved.`;
  missing[0].focus();
}

async function save(entries, field) {
  clearErrors(properties);
  const state = document.getElementById("save-state");
  state.className = "save-state";
  state.textContent = "Saving…";
  const { ok, answer } = await saveFields(entries);
  if (!ok) {
    showErrors(answer, field);
    return false;
  }
  showSaved(answer);
  await refreshCase();
  return true;
}

if (properties) {
  properties.querySelector("#save-properties").hidden = true;
  properties.addEventListener("submit", (event) => event.preventDefault());
  properties.addEventListener("change", (event) => {
    const el = event.target;
    if (!el.name || el.name === "csrf") return;
    if (el.name === "case_type") {
      chooseType(el);
      return;
    }
    if (el.name.startsWith("profile.")) {
      if (pendingType !== null) {
        if (missingRequired().length > 0) {
          const box = el.closest(".field");
          if (el.value.trim() !== "") {
            box.classList.remove("invalid");
            box.querySelector(".field-error").hidden = true;
          }
          return;
        }
        const type = pendingType;
        pendingType = null;
        save([["case_type", type], ...profileEntries()], "case_type");
        return;
      }
      save([[el.name, el.value]], el.name);
      return;
    }
    const value = el.type === "checkbox" ? (el.checked ? "on" : "off") : el.value;
    save([[el.name, value]], el.name);
  });
}

// The subject is edited in place.
const subjectForm = document.getElementById("subject-form");
const subjectButton = document.getElementById("edit-subject");
if (subjectForm && subjectButton) {
  const shown = document.getElementById("case-subject");
  const input = document.getElementById("subject-input");
  subjectButton.hidden = false;
  const close = () => {
    subjectForm.hidden = true;
    subjectButton.hidden = false;
    shown.parentElement.hidden = false;
  };
  subjectButton.addEventListener("click", () => {
    input.value = shown.textContent;
    shown.parentElement.hidden = true;
    subjectForm.hidden = false;
    input.focus();
    input.select();
  });
  document.getElementById("subject-cancel").addEventListener("click", close);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  subjectForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(subjectForm);
    const { ok, answer } = await saveFields([["subject", input.value]]);
    if (!ok) {
      const p = document.getElementById("subject-error");
      p.textContent = answer.message;
      p.hidden = false;
      announce(answer.message);
      return;
    }
    shown.textContent = input.value.trim();
    document.title = `#${number} ${shown.textContent} · Docket`;
    close();
    announce(answer.message);
    refreshCase();
  });
}

// The composer: one of a reply or an internal note at a time.
const tabs = document.querySelector(".composer-tabs");
function showTab(which, focus) {
  if (!tabs) return;
  for (const tab of tabs.querySelectorAll("[role=tab]")) {
    const selected = tab.id === `tab-${which}`;
    tab.setAttribute("aria-selected", String(selected));
    document.getElementById(tab.getAttribute("aria-controls")).hidden = !selected;
  }
  if (focus) {
    const panel = document.getElementById(`panel-${which}`);
    const box = panel.querySelector("textarea");
    if (box) box.focus();
  }
}
if (tabs) {
  tabs.hidden = false;
  showTab("reply", false);
  tabs.addEventListener("click", (event) => {
    const tab = event.target.closest("[role=tab]");
    if (tab) showTab(tab.id.replace("tab-", ""), true);
  });
}

// Long threads unfold in place.
for (const link of document.querySelectorAll("[data-unfold]")) {
  link.addEventListener("click", (event) => {
    event.preventDefault();
    for (const item of document.querySelectorAll("[data-folded]")) item.hidden = false;
    link.closest(".fold").remove();
  });
}

// Keyboard: r reply, n note, a assign to me, s status, e close, ? help.
const shortcuts = [
  ["r", "Reply to the customer"],
  ["n", "Write an internal note"],
  ["a", "Assign the case to me"],
  ["s", "Change the status"],
  ["e", "Close the case"],
  ["/", "Search the inbox"],
  ["?", "Show these shortcuts"],
];
document.addEventListener(
  "keydown",
  (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest && event.target.closest("input, textarea, select, [contenteditable]")) return;
    // Nothing acts on the page behind an open dialog.
    if (document.querySelector("dialog[open]")) return;
    const key = event.key;
    if (key === "r" && tabs) {
      showTab("reply", true);
    } else if (key === "n" && tabs) {
      showTab("note", true);
    } else if (key === "a") {
      const assignee = document.getElementById("assignee");
      if (!assignee || !me || ![...assignee.options].some((o) => o.value === me)) return;
      assignee.value = me;
      assignee.dispatchEvent(new Event("change", { bubbles: true }));
    } else if (key === "e") {
      const close = document.getElementById("close");
      if (close) close.click();
    } else if (key === "/") {
      location.href = "/inbox#q";
    } else {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
  },
  true,
);

export { shortcuts };

// Who else has the case open, and who is typing: heartbeats while the
// page is open, a note when typing starts and stops, goodbye on leaving.
const presenceEl = document.getElementById("presence");
const csrfInput = document.querySelector('input[name="csrf"]');
let typing = false;
let typingTimer = null;

function showPresence(viewers) {
  if (!presenceEl) return;
  const others = viewers.filter((v) => v.username !== me);
  presenceEl.hidden = others.length === 0;
  presenceEl.replaceChildren();
  if (others.length === 0) return;
  presenceEl.append("Also here: ");
  others.forEach((viewer, i) => {
    const who = document.createElement("span");
    who.className = viewer.typing ? "viewer typing" : "viewer";
    who.dataset.username = viewer.username;
    who.textContent = viewer.typing ? `${viewer.name} (typing a reply…)` : viewer.name;
    if (i > 0) presenceEl.append(", ");
    presenceEl.append(who);
  });
}

async function beat(state) {
  if (!presenceEl || !csrfInput) return;
  const body = new URLSearchParams({ csrf: csrfInput.value, state });
  try {
    const response = await fetch(`/cases/${number}/presence`, { method: "POST", body });
    if (response.ok) showPresence(await response.json());
  } catch {
    // The next heartbeat tries again.
  }
}

if (presenceEl) {
  beat("viewing");
  setInterval(() => beat(typing ? "typing" : "viewing"), 15000);
  for (const box of document.querySelectorAll(".composer textarea")) {
    box.addEventListener("input", () => {
      if (!typing) {
        typing = true;
        beat("typing");
      }
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => {
        typing = false;
        beat("viewing");
      }, 5000);
    });
  }
  window.addEventListener("pagehide", () => {
    const body = new URLSearchParams({ csrf: csrfInput.value, state: "left" });
    navigator.sendBeacon(`/cases/${number}/presence`, body);
  });
}

// Live changes by others show up in place.
if ("EventSource" in window) {
  const events = new EventSource("/events");
  let timer = null;
  events.addEventListener("presence", (message) => {
    const change = JSON.parse(message.data);
    if (String(change.number) === number) showPresence(change.viewers);
  });
  events.addEventListener("case", (message) => {
    const change = JSON.parse(message.data);
    if (String(change.number) !== number) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      refreshCase();
      if (change.actor !== me) announce(`Updated by ${change.actor}`);
    }, 300);
  });
}

// Saved replies: `/` or `#` and a few letters of a name in the composer
// offers the channel's replies, filled in for this case.
let savedReplies = null;
async function loadSavedReplies() {
  if (savedReplies) return savedReplies;
  try {
    const response = await fetch(`/cases/${number}/saved-replies`, { headers: { accept: "application/json" } });
    savedReplies = response.ok && !response.redirected ? await response.json() : null;
  } catch {
    savedReplies = null;
  }
  // Asked again next time when it failed (the session may be back).
  return savedReplies || [];
}

const picker = document.createElement("ul");
picker.className = "reply-picker";
picker.id = "reply-picker";
picker.setAttribute("role", "listbox");
picker.setAttribute("aria-label", "Saved replies");
picker.hidden = true;
let pickerFor = null;
let pickerMatch = null;
let pickerChoice = 0;

function trigger(box) {
  const before = box.value.slice(0, box.selectionStart);
  const match = /(^|\s)([/#])([\p{L}\p{N}_-]*)$/u.exec(before);
  return match ? { start: before.length - match[2].length - match[3].length, query: match[3].toLowerCase() } : null;
}

function closePicker() {
  picker.hidden = true;
  pickerFor = null;
  pickerMatch = null;
}

function renderPicker(items) {
  picker.replaceChildren(
    ...items.map((reply, i) => {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.id = `saved-reply-${reply.id}`;
      li.setAttribute("aria-selected", String(i === pickerChoice));
      const name = document.createElement("strong");
      name.textContent = reply.name;
      const text = document.createElement("span");
      text.textContent = reply.text.slice(0, 90);
      li.append(name, " ", text);
      li.addEventListener("mousedown", (event) => {
        event.preventDefault();
        insertReply(reply);
      });
      return li;
    }),
  );
}

function insertReply(reply) {
  const box = pickerFor;
  const { start } = pickerMatch;
  const end = box.selectionStart;
  box.value = box.value.slice(0, start) + reply.text + box.value.slice(end);
  const caret = start + reply.text.length;
  box.setSelectionRange(caret, caret);
  box.dispatchEvent(new Event("input", { bubbles: true }));
  closePicker();
  box.focus();
  announce(`Inserted the saved reply ${reply.name}.`);
}

async function updatePicker(box) {
  const found = trigger(box);
  if (!found) return closePicker();
  const replies = await loadSavedReplies();
  const items = replies.filter((r) => r.name.toLowerCase().includes(found.query)).slice(0, 8);
  if (items.length === 0) return closePicker();
  pickerFor = box;
  pickerMatch = { ...found, items };
  pickerChoice = Math.min(pickerChoice, items.length - 1);
  box.after(picker);
  renderPicker(items);
  picker.hidden = false;
}

for (const box of document.querySelectorAll(".composer textarea")) {
  box.setAttribute("aria-autocomplete", "list");
  box.addEventListener("input", () => {
    pickerChoice = 0;
    updatePicker(box);
  });
  box.addEventListener("blur", () => setTimeout(closePicker, 150));
  box.addEventListener("keydown", (event) => {
    if (picker.hidden || pickerFor !== box) return;
    const items = pickerMatch.items;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      pickerChoice = (pickerChoice + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      renderPicker(items);
    } else if (event.key === "Enter" || event.key === "Tab") {
      insertReply(items[pickerChoice]);
    } else if (event.key === "Escape") {
      closePicker();
    } else {
      return;
    }
    event.preventDefault();
  });
}

// A file dropped on the reply attaches it.
const updateForm = document.getElementById("send-update");
const updateFile = document.getElementById("update-file");
if (updateForm && updateFile) {
  updateForm.addEventListener("dragover", (event) => {
    if ([...event.dataTransfer.types].includes("Files")) {
      event.preventDefault();
      updateForm.classList.add("dropping");
    }
  });
  updateForm.addEventListener("dragleave", () => updateForm.classList.remove("dropping"));
  updateForm.addEventListener("drop", (event) => {
    updateForm.classList.remove("dropping");
    const dropped = [...event.dataTransfer.files];
    if (dropped.length === 0) return;
    event.preventDefault();
    // Dropped files join those already chosen.
    const files = new DataTransfer();
    for (const file of [...updateFile.files, ...dropped]) files.items.add(file);
    updateFile.files = files.files;
    updateFile.closest("details").open = true;
    const names = dropped.map((f) => f.name).join(", ");
    announce(`Attached ${names}. ${files.files.length} new ${files.files.length === 1 ? "file" : "files"} in all.`);
  });
}

// A note's Markdown, previewed as it will show.
const previewButton = document.getElementById("preview-note");
if (previewButton) {
  const box = document.getElementById("note-body");
  const shown = document.getElementById("note-preview");
  previewButton.hidden = false;
  previewButton.addEventListener("click", async () => {
    if (!shown.hidden) {
      shown.hidden = true;
      previewButton.textContent = "Preview";
      return;
    }
    const body = new URLSearchParams({ csrf: csrfInput.value, body: box.value });
    const response = await fetch(`/cases/${number}/preview`, { method: "POST", body });
    if (!response.ok || response.redirected) {
      announce("The preview could not be made; your session may have ended. Reload the page.");
      return;
    }
    // The server sanitised it: no script, no images, safe links.
    shown.innerHTML = (await response.text()) || "<p>Nothing to preview yet.</p>";
    shown.hidden = false;
    previewButton.textContent = "Edit";
  });
}

// Merge, split, move and close-as-duplicate show what they would do in a
// dialog before anything happens; a refused case number is marked beside
// its box, which keeps what was typed. Without script the same address
// shows the preview as a page.
function previewDialog() {
  let dialog = document.getElementById("confirm-dialog");
  if (!dialog) {
    dialog = document.createElement("dialog");
    dialog.id = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-title");
    // Focus goes back where the person was when the dialog closes.
    dialog.addEventListener("close", () => dialog.returnFocus?.focus());
    dialog.addEventListener("click", (event) => {
      if (event.target.closest("[data-dismiss]")) {
        event.preventDefault();
        dialog.close();
      }
    });
    document.body.append(dialog);
  }
  return dialog;
}

function showRefusal(form, text) {
  const slot = form.querySelector(".field-error");
  const input = form.querySelector("input:not([type=hidden])");
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
  if (slot) {
    slot.textContent = text;
    slot.hidden = false;
  } else {
    announce(text);
  }
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.matches("form[data-preview]")) return;
  event.preventDefault();
  const query = new URLSearchParams(new FormData(form));
  query.set("part", "1");
  let response;
  try {
    response = await fetch(`${form.action}?${query}`, { headers: { "x-docket-fetch": "1" } });
  } catch {
    showRefusal(form, "The server cannot be reached; nothing was changed. Try again.");
    return;
  }
  if (response.redirected) {
    showRefusal(form, "Your session has ended; reload the page and log in.");
    return;
  }
  const html = await response.text();
  const part = new DOMParser().parseFromString(html, "text/html");
  if (!response.ok) {
    const error = part.getElementById("confirm-error");
    showRefusal(form, error ? error.textContent : `The server answered ${response.status}; nothing was changed.`);
    return;
  }
  for (const slot of form.querySelectorAll(".field-error")) slot.hidden = true;
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const dialog = previewDialog();
  // The server rendered the part with every value escaped.
  dialog.replaceChildren(...part.body.childNodes);
  const menu = form.closest("details");
  dialog.returnFocus = menu ? menu.querySelector("summary") : form.querySelector("button");
  menu?.removeAttribute("open");
  dialog.showModal();
  dialog.querySelector("#confirm-action")?.focus();
});

// The language model's help, when one is configured: a summary above the
// thread and a draft in the composer. Its text is only ever shown or put
// in the box for the agent to edit; nothing is sent without them.
async function askModel(kind) {
  const body = new URLSearchParams({ csrf: csrfInput.value });
  try {
    const response = await fetch(`/cases/${number}/assist/${kind}`, {
      method: "POST",
      headers: { "x-docket-fetch": "1" },
      body,
    });
    const answer = await response.json();
    return response.ok ? { ok: true, ...answer } : { ok: false, error: answer.error || `The server answered ${response.status}.` };
  } catch {
    return { ok: false, error: "The server cannot be reached. Try again." };
  }
}

const summarize = document.getElementById("summarize");
if (summarize) {
  const panel = document.getElementById("summary-panel");
  const shown = document.getElementById("summary-text");
  summarize.hidden = false;
  summarize.addEventListener("click", async () => {
    panel.hidden = false;
    panel.classList.remove("failed");
    document.getElementById("summary-model").textContent = summarize.dataset.model;
    shown.textContent = "Asking the language model…";
    summarize.disabled = true;
    const answer = await askModel("summary");
    summarize.disabled = false;
    if (answer.ok) {
      shown.textContent = answer.text;
    } else {
      panel.classList.add("failed");
      shown.textContent = `No summary: ${answer.error}`;
    }
  });
}

const draftButton = document.getElementById("draft-reply");
if (draftButton) {
  const box = document.getElementById("update-body");
  const note = document.getElementById("draft-note");
  draftButton.hidden = false;
  draftButton.addEventListener("click", async () => {
    draftButton.disabled = true;
    note.hidden = false;
    note.textContent = "Asking the language model…";
    const answer = await askModel("draft");
    draftButton.disabled = false;
    if (!answer.ok) {
      note.textContent = `No draft: ${answer.error}`;
      return;
    }
    // What the agent typed stays; the draft goes after it.
    box.value = box.value.trim() ? `${box.value.trimEnd()}\n\n${answer.text}` : answer.text;
    box.dataset.drafted = answer.model;
    note.textContent = `Drafted by ${answer.model}: read and edit it before you send it.`;
    box.focus();
  });
}
