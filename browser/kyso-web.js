// kyso-web.js — sign with the officer's token from a web page, through the kyso browser
// extension and the kyso agent (kysod). An ES module with no dependencies:
//
//   import * as kyso from "./kyso-web.js";
//   const certs = await kyso.getCertificates();            // signing certificates
//   const { signature } = await kyso.sign({
//     certificate: certs[0].id, hash: digestBytes, hashAlgorithm: "SHA-256",
//     description: "Công văn 17/2026" });
//
// Every function returns a Promise. A failure is a kyso.KysoError whose `name` is one of
// kyso.ERRORS (stable across versions; docs/web.md says what each means and what to do)
// and whose `details` may say more. kysod shows each request to the officer with this
// page's origin (which the browser gives, not this page) and asks before it signs; the
// administrator's policy (web_origins) says which pages may ask at all.
//
// Options (the last argument of each function): timeout, in milliseconds (default: none
// for sign and signDocuments — the officer may take a while —, 60 s for the others);
// onProgress(progress) for signDocuments; extensionTimeout, how long to wait for the
// extension's answer to the first ping (default 2 s).

export const VERSION = "0.1.0";

export const ERRORS = Object.freeze([
  "ExtensionMissing",      // the kyso extension is not installed (or not for this page)
  "ExtensionError",        // the extension stopped while a request was open
  "HostMissing",           // the extension is there, kyso-browser-host is not installed
  "HostError",             // kyso-browser-host ended unexpectedly
  "AgentNotRunning",       // kysod is not running (or stopped)
  "InsecureOrigin",        // the page is not https (http only on this machine)
  "PolicyDenied",          // kysod's policy does not let this page ask (web_origins)
  "Cancelled",             // the officer refused or cancelled; or the page cancelled
  "Timeout",               // nobody answered in time (kysod's dialog, or `timeout`)
  "NoCertificate",         // no such certificate, or no key for it on a present token
  "TokenMissing",          // the token is not there (any more)
  "PinRequired",           // the token needs its PIN and no dialog could ask for it
  "PinIncorrect",          // the officer typed a wrong PIN (never retried by kysod)
  "PinLocked",             // the PIN is locked: an administrator must unblock it
  "AlgorithmNotSupported", // the key or token cannot sign that way
  "InvalidArgument",       // a bad argument (details.argument names it)
  "Busy",                  // too many requests open from this page
  "MessageTooLarge",       // a request over 1 MiB
  "ResultTooLarge",        // an answer over the browsers' 1 MiB
  "TokenError",            // the token failed
  "AuditFailed",           // kysod cannot write its audit log: nothing was signed
  "AgentError",            // anything else kysod reported
]);

export class KysoError extends Error {
  constructor(name, message, details) {
    super(message);
    this.name = name;
    this.details = details ?? {};
  }
}

const pending = new Map();
let extension = null;   // a Promise of the extension's version, once asked
let counter = 0;

function newId() {
  counter += 1;
  const rand = Math.floor(Math.random() * 0x100000000).toString(16);
  return `kyso-${Date.now().toString(36)}-${counter}-${rand}`;
}

window.addEventListener("message", (event) => {
  if (event.source !== window || event.origin !== window.location.origin) return;
  const m = event.data;
  if (m === null || typeof m !== "object" || !pending.has(m.id)) return;
  const p = pending.get(m.id);
  if (m.kyso === "pong" && p.ping) {
    pending.delete(m.id);
    clearTimeout(p.timer);
    p.resolve(m.version);
  } else if (m.kyso === "progress" && !p.ping) {
    if (p.onProgress) {
      try { p.onProgress(m.progress); } catch (e) { console.error(e); }
    }
  } else if (m.kyso === "response" && !p.ping) {
    pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.error) p.reject(new KysoError(m.error.name ?? "AgentError",
      m.error.message ?? "kyso failed", m.error.details));
    else p.resolve(m.result);
  }
});

function post(msg) {
  window.postMessage(msg, window.location.origin);
}

// Resolves with the extension's version, or rejects with ExtensionMissing.
function detect(timeoutMs) {
  if (extension !== null) return extension;
  extension = new Promise((resolve, reject) => {
    const id = newId();
    const timer = setTimeout(() => {
      pending.delete(id);
      extension = null;   // asked again next time: it may be installed meanwhile
      reject(new KysoError("ExtensionMissing", "the kyso browser extension is not " +
        "installed, or not enabled for this page"));
    }, timeoutMs);
    pending.set(id, { ping: true, resolve, reject, timer });
    post({ kyso: "ping", id });
  });
  return extension;
}

async function request(command, args, options, defaultTimeout) {
  const opts = options ?? {};
  await detect(opts.extensionTimeout ?? 2000);
  const id = newId();
  const timeout = opts.timeout ?? defaultTimeout;
  return new Promise((resolve, reject) => {
    const p = { ping: false, resolve, reject, onProgress: opts.onProgress, timer: null };
    if (timeout) {
      p.timer = setTimeout(() => {
        pending.delete(id);
        post({ kyso: "cancel", id });   // kysod closes its dialog for it
        reject(new KysoError("Timeout", `no answer within ${timeout} ms`));
      }, timeout);
    }
    pending.set(id, p);
    post({ kyso: "request", id, command, arguments: args });
  });
}

// Bytes (ArrayBuffer, a typed array, a DataView) or a base64 string, as base64.
function base64Of(v, name) {
  if (typeof v === "string") return v;
  let bytes;
  if (v instanceof ArrayBuffer) bytes = new Uint8Array(v);
  else if (ArrayBuffer.isView(v)) bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  else throw new KysoError("InvalidArgument", `${name} must be bytes or a base64 string`,
    { argument: name });
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000)
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

// Decodes base64 (as the results carry signatures and certificates) into bytes.
export function fromBase64(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function certificateId(c) {
  return typeof c === "object" && c !== null ? c.id : c;
}

// The extension's, the host's and kysod's versions: {extension, host, agent, origin}.
export function status(options) {
  return request("status", {}, options, 60000);
}

// The certificates this page may use. filter: {keyUsage: "nonRepudiation" (default) |
// "digitalSignature" | "any", validNow: true (default) | false}. Each: {id, subject,
// issuer, serial, notBefore, notAfter, keyType, keyBits, curve, keyUsage, algorithms,
// label, token, certificate (base64 DER)}.
export async function getCertificates(filter, options) {
  const r = await request("certificates", filter ?? {}, options, 60000);
  return r.certificates;
}

// Signs a hash. hash: bytes or base64; hashAlgorithm: "SHA-256" | "SHA-384" | "SHA-512"
// (required: it is never guessed); algorithm: "ecdsa" | "rsa-pkcs1v15" | "rsa-pss"
// (default: the key's, PKCS#1 v1.5 for RSA); signatureFormat: "der" (default) | "raw"
// (ECDSA r||s, as WebCrypto verifies). Resolves with {signature (base64), algorithm,
// certificate, signatureFormat}.
export async function sign({ certificate, hash, hashAlgorithm, algorithm, description,
  signatureFormat }, options) {
  const args = { certificate: certificateId(certificate), hash: base64Of(hash, "hash"),
    hashAlgorithm };
  if (algorithm !== undefined) args.algorithm = algorithm;
  if (description !== undefined) args.description = description;
  if (signatureFormat !== undefined) args.signatureFormat = signatureFormat;
  return request("sign", args, options, 0);
}

// Signs documents by their digests: kysod builds a CAdES (or, profile "pades", a PAdES)
// CMS signature for each, after one consent for the batch. documents: [{name, digest
// (bytes or base64), digestAlgorithm, contentType?, signingTime?}]. Resolves with
// {documents: [{index, name, cms (base64 DER) | error, message}], signed, failed,
// stopped}; options.onProgress gets each document's result as it comes.
export async function signDocuments({ certificate, documents, profile, algorithm, description },
  options) {
  if (!Array.isArray(documents))
    throw new KysoError("InvalidArgument", "documents must be an array",
      { argument: "documents" });
  const args = {
    certificate: certificateId(certificate),
    documents: documents.map((d) => {
      const o = { name: d.name, digest: base64Of(d.digest, "digest"),
        digestAlgorithm: d.digestAlgorithm };
      if (d.contentType !== undefined) o.contentType = d.contentType;
      if (d.signingTime !== undefined) o.signingTime = d.signingTime;
      return o;
    }),
  };
  if (profile !== undefined) args.profile = profile;
  if (algorithm !== undefined) args.algorithm = algorithm;
  if (description !== undefined) args.description = description;
  return request("signDocuments", args, options, 0);
}
