// page.js — the test page's script: kyso-web.js used as a page author would, each step
// shown on the page (for the screenshot) and returned (for the test).
import * as kyso from "./kyso-web.js";

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

function showError(where, e) {
  $(where).innerHTML = `<span class="err">${esc(e.name)}</span>: ${esc(e.message)}`;
  throw e;
}

async function status() {
  try {
    const s = await kyso.status();
    $("status").innerHTML = `<span class="ok">ready</span> — extension ${esc(s.extension.version)}, ` +
      `host ${esc(s.host.version)}, agent ${esc(s.agent.product)} ${esc(s.agent.version)}; ` +
      `this page: <code>${esc(s.origin)}</code>`;
    return s;
  } catch (e) { showError("status", e); }
}

async function certs(filter) {
  try {
    const list = await kyso.getCertificates(filter);
    $("certs").innerHTML = "<table>" + list.map((c) =>
      `<tr><th>${esc(c.label)}</th><td>${esc(c.subject)}<br><code>${esc(c.id.slice(0, 16))}…</code> ` +
      `${esc(c.keyType.toUpperCase())} ${esc(c.keyBits)}, valid to ${esc(c.notAfter)}</td></tr>`).join("") +
      "</table>";
    return list;
  } catch (e) { showError("certs", e); }
}

async function signText(certificate, text, description) {
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  try {
    const r = await kyso.sign({ certificate, hash, hashAlgorithm: "SHA-256", description });
    $("sign").innerHTML = "<table>" +
      `<tr><th>document</th><td>${esc(text)}</td></tr>` +
      `<tr><th>description</th><td>${esc(description)}</td></tr>` +
      `<tr><th>SHA-256</th><td><code>${esc(btoa(String.fromCharCode(...new Uint8Array(hash))))}</code></td></tr>` +
      `<tr><th>algorithm</th><td>${esc(r.algorithm)} (${esc(r.signatureFormat)})</td></tr>` +
      `<tr><th>signature</th><td><code>${esc(r.signature)}</code></td></tr>` +
      `<tr><th>result</th><td><span class="ok">signed</span> with certificate <code>${esc(r.certificate.slice(0, 16))}…</code></td></tr>` +
      "</table>";
    return r;
  } catch (e) { showError("sign", e); }
}

// Signs texts as documents (kysod makes a CMS of each); returns the result and the
// indexes the progress callback saw, in order.
async function signDocs(certificate, texts, description) {
  const documents = [];
  for (const [i, t] of texts.entries()) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(t));
    documents.push({ name: `van-ban-${i + 1}.txt`, digest, digestAlgorithm: "SHA-256" });
  }
  const seen = [];
  const r = await kyso.signDocuments({ certificate, documents, description },
    { onProgress: (p) => seen.push(p.document.index) });
  return { ...r, seen };
}

window.kysoTest = { kyso, status, certs, signText, signDocs };
