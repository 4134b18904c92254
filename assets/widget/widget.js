// Docket chat widget. Include on a page of an allowed origin:
//   <script src="https://help.example.com/widget.js?channel=3" async></script>
// No framework, no cookies: the session token lives in the page only.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var source = new URL(script.src);
  var base = source.origin + "/widget/" + encodeURIComponent(source.searchParams.get("channel") || "");
  var token = null, after = 0, polling = false, handedOver = false;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) { node.textContent = text; }
    return node;
  }
  function post(path, body) {
    return fetch(base + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) { throw new Error(data.detail || ("error " + r.status)); }
        return data;
      });
    });
  }

  var button = el("button", { id: "docket-chat-open", type: "button",
    style: "position:fixed;right:16px;bottom:16px;z-index:2147483647;padding:10px 14px" }, "Chat with us");
  var panel = el("div", { id: "docket-chat", role: "dialog", "aria-label": "Chat",
    style: "display:none;position:fixed;right:16px;bottom:64px;width:300px;max-height:420px;" +
      "background:#fff;border:1px solid #888;z-index:2147483647;font:14px sans-serif;flex-direction:column" });
  var log = el("ol", { id: "docket-chat-log", "aria-live": "polite",
    style: "list-style:none;margin:0;padding:8px;overflow:auto;flex:1" });
  var form = el("form", { id: "docket-chat-form", style: "display:flex;gap:4px;padding:8px" });
  var input = el("input", { id: "docket-chat-input", "aria-label": "Message", maxlength: "2000", style: "flex:1" });
  var send = el("button", { type: "submit", id: "docket-chat-send" }, "Send");
  var human = el("button", { type: "button", id: "docket-chat-human" }, "Talk to a person");
  form.appendChild(input); form.appendChild(send);
  panel.appendChild(log); panel.appendChild(form); panel.appendChild(human);

  // Who wrote a line, as the visitor reads it: answers of the language
  // model say that they are an AI's.
  var labels = { visitor: "You: ", agent: "Team: ", ai: "AI assistant: ", bot: "Bot: " };
  function say(who, text) {
    var item = el("li", { "class": "docket-" + who }, (labels[who] || labels.bot) + text);
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }
  function start() {
    if (token) { return Promise.resolve(); }
    return post("/sessions", {}).then(function (data) { token = data.token; });
  }
  function poll() {
    if (polling || !token) { return; }
    polling = true;
    var wait = 500;
    fetch(base + "/updates?token=" + encodeURIComponent(token) + "&after=" + after)
      .then(function (r) {
        // An ended session (or a refusal) stops the polling for good.
        if (r.status === 401 || r.status === 403 || r.status === 404) { token = null; return {}; }
        if (!r.ok) { wait = 5000; return {}; }
        return r.json();
      })
      .then(function (data) {
        (data.replies || []).forEach(function (line) {
          after = Math.max(after, line.seq);
          handedOver = true;
          say("agent", line.text);
        });
      })
      .catch(function () { wait = 5000; })
      .then(function () { polling = false; if (token) { setTimeout(poll, wait); } });
  }
  // A chat the AI answers has its case from the first line; a person may
  // still step in, so the page listens for the team from then on.
  function handed(data) {
    if (!data.case) { return; }
    if (data.handed_over !== false && !handedOver) {
      handedOver = true;
      say("bot", "A person will answer here shortly (case #" + data.case + ").");
    }
    poll();
  }

  button.addEventListener("click", function () {
    panel.style.display = panel.style.display === "none" ? "flex" : "none";
    start().catch(function (e) { say("bot", e.message); });
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    say("visitor", text);
    start()
      .then(function () { return post("/messages", { token: token, text: text }); })
      .then(function (data) {
        (data.replies || []).forEach(function (line) { say(line.from === "ai" ? "ai" : "bot", line.text); });
        handed(data);
      })
      .catch(function (e) { say("bot", e.message); });
  });
  human.addEventListener("click", function () {
    start()
      .then(function () { return post("/escalate", { token: token }); })
      .then(handed)
      .catch(function (e) { say("bot", e.message); });
  });
  document.body.appendChild(button);
  document.body.appendChild(panel);
})();
