/* calmdesk web chat widget. No framework, no CDN, no cookies.
 *
 * Embed with one tag:
 *   <script src="https://DESK/chat/widget.js" data-calmdesk-org="SLUG" async></script>
 *
 * Everything lives in a shadow root so the host page's styles cannot break it,
 * and all text is inserted as text (never HTML).
 *
 * Updates come by polling. With data-calmdesk-transport="sse" on the tag they
 * come as server-sent events instead (read with fetch, so the token stays in
 * a header); if the stream is not available the widget goes back to polling.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__calmdeskChat) { return; }
  window.__calmdeskChat = true;
  var org = script.getAttribute("data-calmdesk-org");
  if (!org) { return; }
  var src = new URL(script.src, document.baseURI);
  var base = src.origin + src.pathname.replace(/\/widget\.js$/, "");
  var storageKey = "calmdesk-chat:" + base + ":" + org;
  var POLL_MS = 1500;
  var useStream = script.getAttribute("data-calmdesk-transport") === "sse" &&
    !!(window.ReadableStream && window.TextDecoder);
  var streaming = false;

  var token = null;
  var lastId = 0;
  var shown = {};
  var pollTimer = null;
  var lastTypingSent = 0;

  var savedTitle = null;
  var savedGreeting = null;
  try {
    token = window.localStorage.getItem(storageKey);
    savedTitle = window.localStorage.getItem(storageKey + ":title");
    savedGreeting = window.localStorage.getItem(storageKey + ":greeting");
  } catch (e) { token = null; }

  var host = document.createElement("div");
  host.setAttribute("data-calmdesk-chat", "");
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    "<style>" +
    ":host{all:initial}" +
    ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483646;border:0;border-radius:24px;" +
    "padding:12px 18px;background:#1f5f8b;color:#fff;font:600 15px system-ui,sans-serif;cursor:pointer;" +
    "box-shadow:0 2px 8px rgba(0,0,0,.25)}" +
    ".panel{position:fixed;right:20px;bottom:76px;z-index:2147483647;width:330px;max-width:calc(100vw - 40px);" +
    "height:440px;max-height:calc(100vh - 110px);display:none;flex-direction:column;background:#fff;color:#1d2430;" +
    "border-radius:10px;box-shadow:0 6px 24px rgba(0,0,0,.25);font:14px/1.4 system-ui,sans-serif;overflow:hidden}" +
    ".panel.open{display:flex}" +
    ".head{padding:12px 14px;background:#1f5f8b;color:#fff;font-weight:600}" +
    ".log{flex:1;overflow-y:auto;padding:10px;display:flex;flex-direction:column;gap:6px}" +
    ".msg{max-width:80%;padding:7px 10px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word}" +
    ".visitor{align-self:flex-end;background:#dcebf5}" +
    ".agent{align-self:flex-start;background:#f1f1f1}" +
    ".greeting{align-self:flex-start;max-width:80%;padding:7px 10px;border-radius:10px;" +
    "background:#f1f1f1;white-space:pre-wrap;word-wrap:break-word}" +
    ".who{display:block;font-size:12px;color:#55606e}" +
    ".typing{min-height:18px;padding:0 12px;font-size:12px;color:#55606e}" +
    ".error{padding:0 12px;font-size:12px;color:#a12b2b}" +
    "form{display:flex;border-top:1px solid #e3e6ea}" +
    "textarea{flex:1;border:0;padding:10px;resize:none;font:inherit;height:44px}" +
    "button.send{border:0;background:#1f5f8b;color:#fff;padding:0 14px;font:inherit;cursor:pointer}" +
    "</style>" +
    "<button class='launcher' type='button' aria-expanded='false'>Chat</button>" +
    "<section class='panel' role='dialog' aria-label='Chat'>" +
    "<div class='head'></div>" +
    "<div class='log' aria-live='polite'></div>" +
    "<div class='typing'></div><div class='error' role='alert'></div>" +
    "<form><label style='position:absolute;left:-9999px' for='cd-text'>Message</label>" +
    "<textarea id='cd-text' name='text' maxlength='5000' placeholder='Write a message'></textarea>" +
    "<button class='send' type='submit'>Send</button></form>" +
    "</section>";
  var launcher = root.querySelector(".launcher");
  var panel = root.querySelector(".panel");
  var head = root.querySelector(".head");
  var log = root.querySelector(".log");
  var typing = root.querySelector(".typing");
  var errorBox = root.querySelector(".error");
  var form = root.querySelector("form");
  var input = root.querySelector("textarea");
  head.textContent = savedTitle || "Chat with us";

  // The organisation's greeting opens the log (set as text: never parsed as HTML).
  function showGreeting(text) {
    var bubble = log.querySelector(".greeting");
    if (!text) {
      if (bubble) { log.removeChild(bubble); }
      return;
    }
    if (!bubble) {
      bubble = document.createElement("div");
      bubble.className = "greeting";
      log.insertBefore(bubble, log.firstChild);
    }
    bubble.textContent = text;
  }
  showGreeting(savedGreeting);

  function request(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (token) { headers.Authorization = "Bearer " + token; }
    return fetch(base + path, {
      method: method,
      mode: "cors",
      credentials: "omit",
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      if (response.status === 401) {
        token = null;
        try { window.localStorage.removeItem(storageKey); } catch (e) { /* private mode */ }
      }
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.error || "The chat is not available right now.");
          error.retryable = response.status >= 500;
          throw error;
        }
        return data;
      });
    });
  }

  // One session request at a time: a visitor who opens the chat and sends at once (or on
  // a slow line) must not start two sessions and post into the one the widget then drops.
  var pendingSession = null;

  function ensureSession() {
    if (token) { return Promise.resolve(token); }
    if (pendingSession) { return pendingSession; }
    pendingSession = request("POST", "/api/" + encodeURIComponent(org) + "/session").then(function (data) {
      token = data.token;
      if (data.title) { head.textContent = data.title; }
      if (typeof data.greeting === "string") { showGreeting(data.greeting); }
      try {
        window.localStorage.setItem(storageKey, token);
        if (data.title) { window.localStorage.setItem(storageKey + ":title", data.title); }
        if (typeof data.greeting === "string") {
          window.localStorage.setItem(storageKey + ":greeting", data.greeting);
        }
      } catch (e) { /* private mode */ }
      return token;
    }).finally(function () { pendingSession = null; });
    return pendingSession;
  }

  function show(message) {
    if (shown[message.id]) { return; }
    shown[message.id] = true;
    lastId = Math.max(lastId, message.id);
    var bubble = document.createElement("div");
    bubble.className = "msg " + (message.from === "visitor" ? "visitor" : "agent");
    bubble.setAttribute("data-message-id", String(message.id));
    if (message.from !== "visitor") {
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = message.author || "Support";
      bubble.appendChild(who);
    }
    bubble.appendChild(document.createTextNode(message.text));
    log.appendChild(bubble);
    log.scrollTop = log.scrollHeight;
  }

  // The server says whether an agent typed in the last few seconds. The
  // indicator also clears itself, so a lost connection cannot leave it on.
  var TYPING_SHOWN_MS = 6000;
  var typingTimer = null;

  function showTyping(on) {
    if (typingTimer) { clearTimeout(typingTimer); typingTimer = null; }
    typing.textContent = on ? "Support is typing\u2026" : "";
    if (on) { typingTimer = setTimeout(function () { showTyping(false); }, TYPING_SHOWN_MS); }
  }

  function apply(data) {
    (data.messages || []).forEach(show);
    showTyping(!!data.agent_typing);
    errorBox.textContent = "";
  }

  function poll() {
    if (!token) { return Promise.resolve(); }
    return request("GET", "/api/messages?after=" + lastId).then(apply).catch(function (error) {
      errorBox.textContent = error.message;
    });
  }

  function handleEvent(block) {
    var data = [];
    block.split("\n").forEach(function (line) {
      if (line.indexOf("data:") === 0) { data.push(line.slice(5).replace(/^ /, "")); }
    });
    if (!data.length) { return; }
    try { apply(JSON.parse(data.join("\n"))); } catch (e) { /* a torn event: the next one repairs */ }
  }

  // One stream until the server ends it (about every half minute), then the next.
  function openStream() {
    return fetch(base + "/api/stream?after=" + lastId, {
      method: "GET",
      mode: "cors",
      credentials: "omit",
      headers: { Authorization: "Bearer " + token, Accept: "text/event-stream" }
    }).then(function (response) {
      if (!response.ok || !response.body) { throw new Error("no stream"); }
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) { return; }
          buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n/g, "\n");
          var blocks = buffer.split("\n\n");
          buffer = blocks.pop();
          blocks.forEach(handleEvent);
          return pump();
        });
      }
      return pump();
    });
  }

  function listen() {
    if (streaming || !token) { return; }
    streaming = true;
    openStream().then(function () {
      streaming = false;
      listen();
    }, function () {
      // No stream here (turned off, a proxy in the way): poll as everyone else does.
      streaming = false;
      useStream = false;
      schedule();
    });
  }

  function follow() {
    if (useStream) { listen(); } else { schedule(); }
  }

  function schedule() {
    if (pollTimer) { clearTimeout(pollTimer); }
    pollTimer = setTimeout(function () { poll().then(schedule, schedule); }, POLL_MS);
  }

  function newId() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID().replace(/-/g, ""); }
    return String(Date.now()) + Math.random().toString(16).slice(2);
  }

  // The server stores a message once per client_id, so resending after a
  // network or server error can never duplicate it.
  function sendWithRetry(body, triesLeft) {
    return request("POST", "/api/messages", body).catch(function (error) {
      var retryable = error.retryable || error instanceof TypeError;
      if (!retryable || triesLeft <= 1) { throw error; }
      return new Promise(function (resolve) { setTimeout(resolve, 800); }).then(function () {
        return sendWithRetry(body, triesLeft - 1);
      });
    });
  }

  launcher.addEventListener("click", function () {
    var open = !panel.classList.contains("open");
    panel.classList.toggle("open", open);
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      ensureSession().then(poll).then(follow).catch(function (error) {
        errorBox.textContent = error.message;
      });
      input.focus();
    }
  });

  input.addEventListener("input", function () {
    var now = Date.now();
    if (!token || now - lastTypingSent < 2500) { return; }
    lastTypingSent = now;
    request("POST", "/api/typing").catch(function () { /* typing is best effort */ });
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    var clientId = newId();
    input.value = "";
    ensureSession().then(function () {
      return sendWithRetry({ text: text, client_id: clientId }, 3);
    }).then(poll).catch(function (error) {
      input.value = text;
      errorBox.textContent = error.message;
    });
  });

  document.body.appendChild(host);
})();
