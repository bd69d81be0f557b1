// content.js — the kyso extension's side of a web page (every http and https page, every
// frame). It carries the page's requests (kyso-web.js) to the extension's background,
// and the answers back, through window.postMessage:
//
//   page → here    {kyso: "ping", id}                 is the extension there?
//                  {kyso: "request", id, command, arguments}
//                  {kyso: "cancel", id}               the page gives up on a request
//   here → page    {kyso: "pong", id, version}
//                  {kyso: "progress", id, progress}
//                  {kyso: "response", id, result} or {kyso: "response", id, error}
//
// Only messages the page posted to itself are taken (event.source is this window and
// event.origin its origin): other frames and windows cannot speak for it. Answers go to
// this origin only. The page's origin is NOT sent from here: the background takes it
// from what the browser says about this script's sender. A page may have at most
// MAX_PENDING requests open; more are refused at once with Busy.
"use strict";
(() => {
  const api = globalThis.browser ?? globalThis.chrome;
  const MAX_PENDING = 16;
  const ID_MAX = 64;
  const pending = new Set();
  let port = null;

  function reply(msg) {
    window.postMessage(msg, window.location.origin);
  }

  function fail(id, name, message) {
    reply({ kyso: "response", id, error: { name, message } });
  }

  function connect() {
    if (port !== null) return port;
    port = api.runtime.connect({ name: "kyso" });
    port.onMessage.addListener((m) => {
      if (m === null || typeof m !== "object" || !pending.has(m.id)) return;
      if (m.progress !== undefined) {
        reply({ kyso: "progress", id: m.id, progress: m.progress });
        return;
      }
      pending.delete(m.id);
      if (m.error !== undefined) reply({ kyso: "response", id: m.id, error: m.error });
      else reply({ kyso: "response", id: m.id, result: m.result });
    });
    port.onDisconnect.addListener(() => {
      // the extension was reloaded or its background ended: what was open is lost
      void api.runtime.lastError;
      port = null;
      for (const id of pending)
        fail(id, "ExtensionError", "the kyso extension stopped before it answered");
      pending.clear();
    });
    return port;
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window || event.origin !== window.location.origin) return;
    const m = event.data;
    if (m === null || typeof m !== "object" || typeof m.kyso !== "string") return;
    const id = m.id;
    if (!((typeof id === "string" && id.length <= ID_MAX) || Number.isInteger(id))) return;
    switch (m.kyso) {
      case "ping":
        reply({ kyso: "pong", id, version: api.runtime.getManifest().version });
        break;
      case "request":
        if (pending.has(id)) {
          fail(id, "InvalidArgument", "a request with this id is already open");
        } else if (pending.size >= MAX_PENDING) {
          fail(id, "Busy", `this page has ${MAX_PENDING} requests open already; ` +
            "wait for their answers");
        } else if (typeof m.command !== "string" || m.command.length > 32) {
          fail(id, "InvalidArgument", "the request names no command");
        } else {
          pending.add(id);
          try {
            connect().postMessage({ id, command: m.command, arguments: m.arguments ?? {} });
          } catch (e) {
            pending.delete(id);
            fail(id, "ExtensionError", "the kyso extension cannot be reached: " + e.message);
          }
        }
        break;
      case "cancel":
        if (pending.has(id) && port !== null) port.postMessage({ cancel: id });
        break;
    }
  });
})();
