/* calmdesk workspace: the little the server cannot do. No dependencies. */
(function () {
  "use strict";

  // One-click rewrite from the live coach. The button carries the span the
  // coach saw and the text it saw there; if the agent has typed since, the
  // original text is looked for again rather than replacing the wrong words.
  function applyRewrite(button) {
    var form = button.closest("form");
    var box = form ? form.querySelector("textarea[name=body]") : null;
    if (!box) return;
    var start = parseInt(button.dataset.start, 10);
    var end = parseInt(button.dataset.end, 10);
    var original = button.dataset.original || "";
    var replacement = button.dataset.replacement || "";
    var text = box.value;
    if (!(start >= 0 && end >= start && text.slice(start, end) === original)) {
      start = text.indexOf(original);
      if (start < 0 || original === "") return;
      end = start + original.length;
    }
    box.value = text.slice(0, start) + replacement + text.slice(end);
    box.focus();
    box.setSelectionRange(start + replacement.length, start + replacement.length);
    // Let the coach look at the new draft straight away.
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // The policy's suggested reply (a boundary, a rule's wording) goes into the
  // reply box for the agent to adapt; it is never sent without them.
  function useSuggestion(button) {
    var box = document.getElementById("reply-body");
    var source = document.getElementById(button.dataset.suggestion || "");
    if (!box || !source) return;
    var text = source.textContent.trim();
    box.value = box.value.trim() ? box.value.trim() + "\n\n" + text : text;
    box.focus();
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // Copy buttons (embed tags, a new webhook secret): the text goes to the
  // clipboard, or is selected for Ctrl+C where the clipboard is not allowed.
  function copyText(button) {
    var source = document.getElementById(button.dataset.copy || "");
    if (!source) return;
    var text = "value" in source ? source.value : source.textContent;
    var done = function () { button.textContent = "Copied"; };
    var select = function () {
      if (typeof source.select === "function") { source.select(); return; }
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      button.textContent = "Press Ctrl+C";
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, select);
    } else {
      select();
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var copy = target.closest("button[data-copy]");
    if (copy) {
      event.preventDefault();
      copyText(copy);
      return;
    }
    var suggestion = target.closest("button[data-suggestion]");
    if (suggestion) {
      event.preventDefault();
      useSuggestion(suggestion);
      return;
    }
    var button = target.closest("button[data-rewrite]");
    if (button) {
      event.preventDefault();
      applyRewrite(button);
    }
  });

  // In a chat, the visitor sees "typing" while the agent writes a reply. One
  // signal every few seconds is enough: the server shows it for six seconds
  // after the last one, so it fades by itself when the agent stops.
  var TYPING_EVERY_MS = 2500;
  var lastTypingSignal = 0;

  function signalTyping(box) {
    var now = Date.now();
    if (now - lastTypingSignal < TYPING_EVERY_MS || !box.value.trim()) return;
    lastTypingSignal = now;
    var form = box.closest("form");
    var csrf = form ? form.querySelector("input[name=csrfmiddlewaretoken]") : null;
    fetch(box.dataset.typingUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf ? csrf.value : "" }
    }).catch(function () { /* typing is best effort */ });
  }

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target instanceof HTMLTextAreaElement && target.dataset.typingUrl) signalTyping(target);
  });

  // Status and priority apply as soon as they change; the Set buttons remain
  // for keyboard users and for pages without JavaScript.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLSelectElement)) return;
    if (target.id === "status-select" || target.id === "priority-select") {
      var form = target.form;
      if (form && typeof form.requestSubmit === "function") form.requestSubmit();
    }
  });
})();
