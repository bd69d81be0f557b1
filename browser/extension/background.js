// background.js — the kyso extension's background (a service worker in Chromium, an
// event page in Firefox): it takes the requests of each page's content script and hands
// them to kyso-browser-host, the native-messaging host that asks kysod.
//
// The page's origin comes from the browser: the sender of the content script's port
// (sender.origin, else the origin of sender.url), never from anything the page sent. A
// page that is neither https nor http on this machine gets InsecureOrigin and no host is
// started. Each page (each content script's port) gets a host process of its own, started
// with its first request and ended when the page goes (the host then closes its kysod
// connection, and kysod closes any dialog still open for it). A page's requests are
// served one at a time, in order; at most MAX_QUEUE wait, more get Busy. Cancelling the
// request being served ends that host (kysod closes its dialog); the next request starts
// another.
"use strict";
const api = globalThis.browser ?? globalThis.chrome;
const HOST = "io.kyso.browser_host";
const MAX_QUEUE = 16;
const COMMANDS = new Set(["status", "certificates", "sign", "signDocuments"]);

let nextHostId = 1;

function isLoopback(host) {
  return host === "localhost" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}

// The origin the browser reports for the sender, or null.
function senderOrigin(sender) {
  let origin = typeof sender.origin === "string" ? sender.origin : null;
  if (origin === null && typeof sender.url === "string") {
    try {
      origin = new URL(sender.url).origin;
    } catch (e) {
      origin = null;
    }
  }
  return origin === "null" ? null : origin;
}

function originOk(origin) {
  if (origin === null) return false;
  const u = new URL(origin);
  return u.protocol === "https:" || (u.protocol === "http:" && isLoopback(u.hostname));
}

function answer(page, id, msg) {
  try {
    page.port.postMessage({ id, ...msg });
  } catch (e) {
    // the page went away meanwhile
  }
}

function errorOf(name, message, details) {
  return details === undefined ? { name, message } : { name, message, details };
}

// The host's port ended: the request it served (if any) fails with why.
function hostEnded(page, host) {
  const err = api.runtime.lastError ?? host.port.error;
  const text = err?.message ?? "";
  if (page.host === host) page.host = null;
  const r = host.current;
  host.current = null;
  if (r === null || r.done) return;
  r.done = true;
  if (!host.answered && /not found|no such native application|forbidden|not allowed/i.test(text))
    answer(page, r.pageId, { error: errorOf("HostMissing", "the kyso host " +
      "(kyso-browser-host) is not installed for this browser: " + text) });
  else
    answer(page, r.pageId, { error: errorOf("HostError", "the kyso host ended " +
      "before it answered" + (text ? ": " + text : "")) });
  serveNext(page);
}

function startHost(page) {
  const host = { port: api.runtime.connectNative(HOST), current: null, answered: false };
  host.port.onMessage.addListener((m) => {
    host.answered = true;
    const r = host.current;
    if (r === null || m === null || typeof m !== "object" || m.id !== r.hostId) return;
    if (m.progress !== undefined) {
      if (m.progress.document !== undefined) r.documents.push(m.progress.document);
      answer(page, r.pageId, { progress: m.progress });
      return;
    }
    r.done = true;
    host.current = null;
    if (m.error !== undefined) {
      answer(page, r.pageId, { error: m.error });
    } else {
      const result = r.command === "signDocuments" ?
        { documents: r.documents, ...m.result } : m.result;
      if (r.command === "status")
        result.extension = { version: api.runtime.getManifest().version };
      answer(page, r.pageId, { result });
    }
    serveNext(page);
  });
  host.port.onDisconnect.addListener(() => hostEnded(page, host));
  return host;
}

function serveNext(page) {
  if (page.closed || (page.host !== null && page.host.current !== null)) return;
  const r = page.queue.shift();
  if (r === undefined) return;
  if (page.host === null) page.host = startHost(page);
  r.hostId = nextHostId++;
  page.host.current = r;
  try {
    page.host.port.postMessage({ id: r.hostId, origin: page.origin, command: r.command,
      arguments: r.arguments });
  } catch (e) {
    r.done = true;
    page.host.current = null;
    answer(page, r.pageId, { error: errorOf("HostError", "cannot reach the kyso host: " +
      e.message) });
    page.host = null;
    serveNext(page);
  }
}

function onPageMessage(page, m) {
  if (m === null || typeof m !== "object") return;
  if (m.cancel !== undefined) {
    const i = page.queue.findIndex((r) => r.pageId === m.cancel);
    if (i >= 0) {
      const [r] = page.queue.splice(i, 1);
      answer(page, r.pageId, { error: errorOf("Cancelled", "the page cancelled the request",
        { reason: "page" }) });
    } else if (page.host !== null && page.host.current?.pageId === m.cancel) {
      // ending the host is what stops kysod's dialog for it
      const host = page.host, r = host.current;
      r.done = true;
      host.current = null;
      page.host = null;
      host.port.disconnect();
      answer(page, r.pageId, { error: errorOf("Cancelled", "the page cancelled the request",
        { reason: "page" }) });
      serveNext(page);
    }
    return;
  }
  const pageId = m.id;
  if (!COMMANDS.has(m.command)) {
    answer(page, pageId, { error: errorOf("InvalidArgument", "unknown command (use status, " +
      "certificates, sign or signDocuments)") });
    return;
  }
  if (!originOk(page.origin)) {
    answer(page, pageId, { error: errorOf("InsecureOrigin", "kyso serves pages over https " +
      "(or http on this machine) only; this page is " + (page.origin ?? "without an origin")) });
    return;
  }
  if (page.queue.length >= MAX_QUEUE) {
    answer(page, pageId, { error: errorOf("Busy", "too many requests from this page") });
    return;
  }
  const args = m.arguments !== null && typeof m.arguments === "object" ? m.arguments : {};
  page.queue.push({ pageId, command: m.command, arguments: args, documents: [],
    done: false, hostId: 0 });
  serveNext(page);
}

api.runtime.onConnect.addListener((port) => {
  const sender = port.sender ?? {};
  if (port.name !== "kyso" || sender.id !== api.runtime.id || sender.tab === undefined) {
    port.disconnect();
    return;
  }
  const page = { port, origin: senderOrigin(sender), queue: [], host: null, closed: false };
  port.onMessage.addListener((m) => onPageMessage(page, m));
  port.onDisconnect.addListener(() => {
    // the page was closed or navigated: its host ends, and with it kysod's dialog
    page.closed = true;
    page.queue.length = 0;
    if (page.host !== null) {
      page.host.port.disconnect();
      page.host = null;
    }
  });
});
