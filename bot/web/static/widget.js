/*
 * leadbot's website widget. A business adds it to any page with one tag:
 *
 *   <script src="https://chat.example.com/widget.js" data-bot-url="https://bot.example.com" defer></script>
 *
 * data-bot-url is the Rasa server; data-title (optional) heads the chat panel.
 *
 * A plain script, readable as served: no build step. It imports socket.io-client's ES module
 * from the server that served this file and speaks the rasa-webchat protocol: it asks for a
 * session (session_request, answered by session_confirm), sends user_uttered with the page's
 * metadata as customData, shows bot_uttered, and shows the history the server sends on reload.
 * Everything on screen is built with createElement and textContent, never innerHTML: what a
 * visitor types or the bot sends is always shown as text.
 */
(() => {
  "use strict";

  const script = document.currentScript;
  const HOST_ID = "leadbot-widget";
  // A page that includes the tag twice gets one widget.
  if (!script || document.getElementById(HOST_ID)) return;

  const ASSETS = new URL(".", script.src);
  const BOT_URL = new URL(script.dataset.botUrl || ASSETS.origin);
  const SOCKET_IO_MODULE = new URL("vendor/socket.io-client/socket.io.esm.min.js", ASSETS);
  const UTM_FIELDS = ["source", "medium", "campaign", "term", "content"];
  // Wait this long before saying the bot is unreachable: a reconnect usually takes less.
  const OFFLINE_NOTICE_DELAY_MS = 1500;
  // Stop showing "typing" when no answer comes in this time.
  const TYPING_TIMEOUT_MS = 30000;
  // Try again this often when socket.io-client itself could not be loaded.
  const MODULE_RETRY_MS = 5000;
  // The local copy of the conversation keeps the latest messages only.
  const MAX_KEPT_MESSAGES = 200;

  const TEXT = {
    launcher: "Chat with us",
    title: script.dataset.title || "Chat with us",
    intro: "Ask us anything, or tell us what you're looking for.",
    close: "Close",
    log: "Conversation",
    input: "Type your message",
    placeholder: "Type your message…",
    send: "Send",
    you: "You: ",
    bot: "Assistant: ",
    replies: "Suggested answers",
    typing: "The assistant is typing…",
    notSent: "Not sent yet",
    offline:
      "We can't reach our assistant right now. We'll keep trying, and anything you type " +
      "will be sent as soon as we're back.",
  };

  const KEYS = {
    session: "leadbot.session", // the conversation's id, across page loads
    transcript: "leadbot.transcript", // a local copy: {session_id, messages}
    visit: "leadbot.visit", // referrer and UTM parameters of the first page seen
    open: "leadbot.open", // whether the panel was open, per tab
  };

  // ---- storage: blocked or full storage must never break the chat --------------------------

  function storageArea(name) {
    try {
      const area = window[name];
      const probe = "leadbot.probe";
      area.setItem(probe, "1");
      area.removeItem(probe);
      return area;
    } catch (error) {
      return null;
    }
  }

  function store(area) {
    const memory = new Map();
    return {
      get(key, fallback) {
        try {
          const raw = area ? area.getItem(key) : memory.get(key);
          return raw === null || raw === undefined ? fallback : JSON.parse(raw);
        } catch (error) {
          return fallback;
        }
      },
      set(key, value) {
        const raw = JSON.stringify(value);
        try {
          if (area) area.setItem(key, raw);
          else memory.set(key, raw);
        } catch (error) {
          memory.set(key, raw);
        }
      },
    };
  }

  const local = store(storageArea("localStorage"));
  const perTab = store(storageArea("sessionStorage"));

  // ---- what the bot is told about the visit ------------------------------------------------

  /** Referrer and UTM parameters, read on the first page the widget saw and kept after. */
  function firstVisit() {
    const kept = local.get(KEYS.visit, null);
    if (kept && typeof kept === "object" && kept.utm) return kept;
    const params = new URLSearchParams(window.location.search);
    const utm = {};
    for (const field of UTM_FIELDS) utm[field] = params.get(`utm_${field}`);
    const visit = { referrer: document.referrer || null, utm };
    local.set(KEYS.visit, visit);
    return visit;
  }

  const visit = firstVisit();

  function customData() {
    return { page_url: window.location.href, referrer: visit.referrer, utm: visit.utm };
  }

  // ---- the conversation ----------------------------------------------------------------------

  /** Buttons as the bot sent them (quick_replies or buttons), keeping only well-formed ones. */
  function buttonsOf(list) {
    if (!Array.isArray(list)) return [];
    return list
      .filter((b) => b && typeof b.title === "string" && b.title.trim())
      .map((b) => {
        const button = { title: b.title };
        if (b.type === "web_url" && typeof b.url === "string") button.url = b.url;
        else button.payload = typeof b.payload === "string" && b.payload ? b.payload : b.title;
        return button;
      });
  }

  /** A stored message, or null when it is not one. */
  function messageOf(raw) {
    if (!raw || typeof raw !== "object" || typeof raw.text !== "string") return null;
    const message = { sender: raw.sender === "user" ? "user" : "bot", text: raw.text };
    const buttons = buttonsOf(raw.quick_replies || raw.buttons);
    if (buttons.length) message.buttons = buttons;
    if (typeof raw.payload === "string") message.payload = raw.payload;
    if (raw.pending === true) message.pending = true;
    return message;
  }

  function loadTranscript(sessionId) {
    const kept = local.get(KEYS.transcript, null);
    if (!kept || !Array.isArray(kept.messages) || kept.session_id !== sessionId) return [];
    return kept.messages.map(messageOf).filter(Boolean);
  }

  const state = {
    sessionId: local.get(KEYS.session, null),
    messages: [],
    socket: null,
    connecting: false,
    ready: false, // connected, and the server confirmed the session
    sinceRequest: new Set(), // messages sent or received since the last session_request
  };
  state.messages = loadTranscript(state.sessionId);

  function saveTranscript() {
    const messages = state.messages.slice(-MAX_KEPT_MESSAGES);
    local.set(KEYS.transcript, { session_id: state.sessionId, messages });
  }

  // ---- the page: a launcher button and a panel, in a shadow root of their own ---------------

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function chatIcon() {
    const svgNs = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(svgNs, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(svgNs, "path");
    path.setAttribute(
      "d",
      "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    );
    svg.append(path);
    return svg;
  }

  // An element of its own kind: the page's rules for div and friends do not match it.
  const host = element("leadbot-widget");
  host.id = HOST_ID;
  const root = host.attachShadow({ mode: "open" });

  const stylesheet = element("link");
  stylesheet.rel = "stylesheet";
  stylesheet.href = new URL("widget.css", ASSETS).href;

  const launcher = element("button", "launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "leadbot-panel");
  launcher.append(chatIcon(), element("span", "launcher__label", TEXT.launcher));

  const panel = element("section", "panel");
  panel.id = "leadbot-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-labelledby", "leadbot-title");

  const header = element("header", "panel__header");
  const title = element("h2", "panel__title", TEXT.title);
  title.id = "leadbot-title";
  const closeButton = element("button", "panel__close");
  closeButton.type = "button";
  closeButton.setAttribute("aria-label", TEXT.close);
  closeButton.append(element("span", "", "×"));
  closeButton.firstChild.setAttribute("aria-hidden", "true");
  header.append(title, closeButton);

  const notice = element("p", "notice");
  notice.setAttribute("role", "status");
  notice.hidden = true;

  const intro = element("p", "intro", TEXT.intro);

  const log = element("div", "log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", TEXT.log);
  log.tabIndex = 0; // a scrolling region keyboard users can scroll

  const typing = element("div", "typing");
  typing.setAttribute("role", "status");
  const dots = element("span", "typing__dots");
  dots.setAttribute("aria-hidden", "true");
  dots.append(element("span"), element("span"), element("span"));
  const typingText = element("span", "visually-hidden");
  typing.append(dots, typingText);
  typing.hidden = true;

  const replies = element("div", "replies");
  replies.setAttribute("role", "group");
  replies.setAttribute("aria-label", TEXT.replies);
  replies.hidden = true;

  const composer = element("form", "composer");
  const inputLabel = element("label", "visually-hidden", TEXT.input);
  inputLabel.htmlFor = "leadbot-input";
  const input = element("input", "composer__input");
  input.id = "leadbot-input";
  input.type = "text";
  input.autocomplete = "off";
  input.placeholder = TEXT.placeholder;
  input.setAttribute("enterkeyhint", "send");
  const sendButton = element("button", "composer__send", TEXT.send);
  sendButton.type = "submit";
  composer.append(inputLabel, input, sendButton);

  panel.append(header, notice, intro, log, typing, replies, composer);
  root.append(stylesheet, panel, launcher);

  // ---- rendering -----------------------------------------------------------------------------

  const rendered = new Map(); // message -> its element

  function messageElement(message) {
    const item = element("div", `message message--${message.sender}`);
    item.append(element("span", "visually-hidden", message.sender === "bot" ? TEXT.bot : TEXT.you));
    item.append(element("span", "message__text", message.text));
    if (message.pending) item.append(element("span", "message__note", TEXT.notSent));
    return item;
  }

  function show(message) {
    const item = messageElement(message);
    rendered.set(message, item);
    log.append(item);
    intro.hidden = true;
  }

  function renderAll() {
    rendered.clear();
    log.replaceChildren();
    intro.hidden = state.messages.length > 0;
    for (const message of state.messages) show(message);
    const last = state.messages[state.messages.length - 1];
    showReplies(last && last.sender === "bot" ? last.buttons : null);
    scrollToEnd();
  }

  function markSent(message) {
    const item = rendered.get(message);
    const note = item && item.querySelector(".message__note");
    if (note) note.remove();
  }

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  function showReplies(buttons) {
    replies.replaceChildren();
    replies.hidden = !buttons || !buttons.length;
    if (replies.hidden) return;
    for (const button of buttons) {
      if (button.url) {
        const link = linkTo(button.url, button.title);
        if (link) replies.append(link);
        continue;
      }
      const choice = element("button", "replies__button", button.title);
      choice.type = "button";
      choice.addEventListener("click", () => {
        send(button.title, button.payload);
        input.focus();
      });
      replies.append(choice);
    }
  }

  /** A link for a web_url button, only to http(s) addresses; null for anything else. */
  function linkTo(url, text) {
    let address;
    try {
      address = new URL(url, window.location.href);
    } catch (error) {
      return null;
    }
    if (address.protocol !== "https:" && address.protocol !== "http:") return null;
    const link = element("a", "replies__button", text);
    link.href = address.href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    return link;
  }

  let typingTimer = null;

  function setTyping(on) {
    clearTimeout(typingTimer);
    typing.hidden = !on;
    // Changing the text makes screen readers announce it; clearing it keeps them quiet.
    typingText.textContent = on ? TEXT.typing : "";
    if (on) typingTimer = setTimeout(() => setTyping(false), TYPING_TIMEOUT_MS);
  }

  let offlineTimer = null;

  function setOffline(offline) {
    clearTimeout(offlineTimer);
    if (!offline) {
      notice.hidden = true;
      notice.textContent = "";
      return;
    }
    offlineTimer = setTimeout(() => {
      setTyping(false);
      notice.textContent = TEXT.offline;
      notice.hidden = false;
    }, OFFLINE_NOTICE_DELAY_MS);
  }

  // ---- talking to the bot --------------------------------------------------------------------

  function remember(message) {
    state.messages.push(message);
    state.sinceRequest.add(message);
  }

  /** Shows what the visitor said and sends it now, or as soon as the bot can be reached. */
  function send(shown, payload) {
    const text = shown.trim();
    if (!text) return;
    const message = { sender: "user", text, pending: true };
    if (payload && payload !== text) message.payload = payload;
    showReplies(null);
    remember(message);
    show(message);
    sendPending();
    saveTranscript();
    scrollToEnd();
  }

  function sendPending() {
    if (!state.ready) return;
    for (const message of state.messages) {
      if (!message.pending) continue;
      state.socket.emit("user_uttered", {
        message: message.payload || message.text,
        session_id: state.sessionId,
        customData: customData(),
      });
      delete message.pending;
      state.sinceRequest.add(message);
      markSent(message);
      setTyping(true);
    }
    saveTranscript();
  }

  function onBotUttered(raw) {
    if (!raw || typeof raw !== "object") return;
    let text = typeof raw.text === "string" ? raw.text : "";
    const buttons = buttonsOf(raw.quick_replies || raw.buttons);
    const image = raw.attachment && raw.attachment.payload && raw.attachment.payload.src;
    if (!text && typeof image === "string") text = image;
    if (!text && !buttons.length) return;
    setTyping(false);
    const message = { sender: "bot", text };
    if (buttons.length) message.buttons = buttons;
    remember(message);
    show(message);
    showReplies(message.buttons);
    saveTranscript();
    scrollToEnd();
  }

  function onSessionConfirm(confirmed) {
    const id = confirmed && typeof confirmed === "object" ? confirmed.session_id : confirmed;
    if (typeof id !== "string" || !id) return;
    if (state.sessionId && id !== state.sessionId) {
      // The server started another conversation: what is left to show is what was not sent.
      state.messages = state.messages.filter((m) => m.pending);
      renderAll();
    }
    state.sessionId = id;
    local.set(KEYS.session, id);
    state.ready = true;
    setOffline(false);
    sendPending();
  }

  /** The server's copy of the conversation replaces ours, keeping what happened since. */
  function onHistory(history) {
    if (!history || !Array.isArray(history.messages)) return;
    const earlier = history.messages.map(messageOf).filter(Boolean);
    for (const message of earlier) delete message.pending;
    const since = state.messages.filter((m) => m.pending || state.sinceRequest.has(m));
    state.messages = earlier.concat(since);
    saveTranscript();
    renderAll();
  }

  async function connect() {
    if (state.socket || state.connecting) return;
    state.connecting = true;
    let io;
    try {
      ({ io } = await import(SOCKET_IO_MODULE.href));
    } catch (error) {
      state.connecting = false;
      setOffline(true);
      setTimeout(connect, MODULE_RETRY_MS);
      return;
    }
    const basePath = BOT_URL.pathname.replace(/\/+$/, "");
    const socket = io(BOT_URL.origin, { path: `${basePath}/socket.io` });
    state.socket = socket;
    state.connecting = false;

    socket.on("connect", () => {
      state.sinceRequest = new Set();
      socket.emit("session_request", { session_id: state.sessionId });
    });
    socket.on("session_confirm", onSessionConfirm);
    socket.on("history", onHistory);
    socket.on("bot_uttered", onBotUttered);
    socket.on("connect_error", () => {
      state.ready = false;
      setOffline(true);
    });
    socket.on("disconnect", (reason) => {
      state.ready = false;
      setOffline(true);
      // socket.io reconnects by itself, except when the server closed the connection.
      if (reason === "io server disconnect") socket.connect();
    });
  }

  // ---- opening, closing, typing --------------------------------------------------------------

  function open(moveFocus) {
    panel.hidden = false;
    panel.setAttribute("aria-modal", String(fullScreen.matches));
    host.setAttribute("data-open", "");
    launcher.setAttribute("aria-expanded", "true");
    perTab.set(KEYS.open, true);
    scrollToEnd();
    if (moveFocus) input.focus();
    connect();
  }

  function close() {
    panel.hidden = true;
    host.removeAttribute("data-open");
    launcher.setAttribute("aria-expanded", "false");
    perTab.set(KEYS.open, false);
    launcher.focus();
  }

  launcher.addEventListener("click", () => (panel.hidden ? open(true) : close()));
  closeButton.addEventListener("click", close);
  // On a phone the open panel covers the page, so Tab goes round inside it.
  const fullScreen = window.matchMedia("(max-width: 480px)");

  function keepFocusInside(event) {
    const focusable = Array.from(
      panel.querySelectorAll("button, input, a[href], [tabindex='0']"),
    ).filter((node) => node.getClientRects().length > 0);
    if (!focusable.length) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (event.shiftKey && root.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && root.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    } else if (event.key === "Tab" && fullScreen.matches) {
      keepFocusInside(event);
    }
  });
  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    send(input.value);
    input.value = "";
    input.focus();
  });

  function mount() {
    document.body.append(host);
    renderAll();
    // A visitor who reloads mid-conversation finds the chat as they left it; focus stays put.
    if (perTab.get(KEYS.open, false)) open(false);
    // What the visitor sent while the bot was away goes out even before they open the chat.
    else if (state.messages.some((m) => m.pending)) connect();
  }

  // A tag without defer, in the page's head, runs before there is a body to add to.
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
