// The review app's only script: it keeps the queue and a live chat up to date without a reload.
// Everything shown is built with textContent or taken from our own escaped pages, never from
// HTML a visitor could have written.

const QUEUE_POLL_MS = 3000;
const CHAT_POLL_MS = 2000;

async function refreshQueue(queue) {
  const answer = await fetch(queue.dataset.versionUrl, { credentials: "same-origin", cache: "no-store" });
  if (!answer.ok) return;
  const { version } = await answer.json();
  if (version === queue.dataset.version) return;
  const page = await fetch(window.location.href, { credentials: "same-origin", cache: "no-store" });
  if (!page.ok) return;
  // Our own server-rendered page (Jinja escapes everything a visitor typed); DOMParser runs no script.
  const fresh = new DOMParser().parseFromString(await page.text(), "text/html");
  const freshQueue = fresh.getElementById("queue");
  if (!freshQueue) return;
  queue.replaceChildren(...Array.from(freshQueue.childNodes, (node) => document.importNode(node, true)));
  queue.dataset.version = freshQueue.dataset.version;
  const waiting = fresh.getElementById("waiting");
  if (waiting) document.getElementById("waiting").textContent = waiting.textContent;
  document.title = fresh.title;
}

function watchQueue() {
  const queue = document.getElementById("queue");
  if (!queue) return;
  const tick = () => refreshQueue(queue).catch(() => {}).finally(() => setTimeout(tick, QUEUE_POLL_MS));
  setTimeout(tick, QUEUE_POLL_MS);
}

function showLines(list, messages) {
  const items = messages.slice(-30).map((message) => {
    const item = document.createElement("li");
    item.className = `from-${message.speaker}`;
    const speaker = document.createElement("span");
    speaker.className = "speaker";
    speaker.textContent = message.speaker === "rep" ? `you (${message.rep})` : message.speaker;
    const when = document.createElement("time");
    when.dateTime = message.at;
    when.textContent = message.at.slice(11, 19);
    const text = document.createElement("p");
    text.textContent = message.text;
    item.append(speaker, " ", when, text);
    return item;
  });
  list.replaceChildren(...items);
  list.scrollTop = list.scrollHeight; // the newest message in view, as in any chat
}

function watchChats() {
  for (const live of document.querySelectorAll(".live[data-held='me']")) {
    const list = live.querySelector(".live-lines");
    let shown = -1;
    const tick = async () => {
      try {
        const answer = await fetch(live.dataset.liveUrl, { credentials: "same-origin", cache: "no-store" });
        const body = await answer.json();
        if (answer.ok && body.messages.length !== shown) {
          shown = body.messages.length;
          showLines(list, body.messages);
        }
      } catch (error) {
        // The bot is restarting or the network blinked: try again at the next tick.
      }
      setTimeout(tick, CHAT_POLL_MS);
    };
    tick();
  }
}

watchQueue();
watchChats();
