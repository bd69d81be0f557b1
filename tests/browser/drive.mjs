// drive.mjs — a real browser for kyso's browser tests (tests/integration/browser.sh),
// driven through puppeteer-core by commands on standard input, one per line; each answer
// is one JSON line on standard output ({"ok": value} or {"error": "..."}):
//
//   launch chromium PROFILE [EXTDIR]   Debian's chromium, headless, with a fresh profile
//                                      PROFILE (its NativeMessagingHosts/ holds the host
//                                      manifest) and the unpacked extension EXTDIR (none:
//                                      without the extension); names *.test resolve to
//                                      127.0.0.1
//   launch firefox HOME [EXTDIR]       Debian's firefox-esr, headless; HOME is its home
//                                      (.mozilla/native-messaging-hosts/ there); EXTDIR is
//                                      installed as a temporary add-on (WebDriver BiDi)
//   goto URL                           opens URL in a new tab, waits until it is loaded
//   call EXPRESSION                    awaits EXPRESSION in the page; answers its value
//                                      (JSON), or {"error": ..., "name": ...} if it threw
//   screenshot PATH                    a PNG of the tab
//   close                              closes the browser
//
// Nothing waits a fixed time: every step waits for what it needs (the page's load, the
// promise of the expression).
import { createInterface } from "node:readline";
import puppeteer from "puppeteer-core";

const CHROMIUM_FLAGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--no-default-browser-check", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--disable-features=Translate,MediaRouter",
  "--metrics-recording-only", "--password-store=basic", "--window-size=1000,760",
  // test pages "elsewhere" (http://NAME.test) are this machine's
  "--host-resolver-rules=MAP *.test 127.0.0.1",
];

let browser = null;
let page = null;

function say(o) {
  process.stdout.write(JSON.stringify(o) + "\n");
}

async function launch(kind, dir, ext) {
  if (kind === "chromium") {
    const args = [...CHROMIUM_FLAGS, `--user-data-dir=${dir}`];
    if (ext) args.push(`--disable-extensions-except=${ext}`, `--load-extension=${ext}`);
    browser = await puppeteer.launch({
      executablePath: "/usr/bin/chromium",
      headless: true,
      args,
      ignoreDefaultArgs: ["--disable-extensions"],
      defaultViewport: { width: 1000, height: 760 },
      env: { ...process.env },
    });
    if (ext) {
      // the extension's service worker is up: its background is ready for pages
      await browser.waitForTarget((t) => t.type() === "service_worker" &&
        t.url().startsWith("chrome-extension://"), { timeout: 60000 });
    }
    return { version: await browser.version() };
  }
  if (kind === "firefox") {
    browser = await puppeteer.launch({
      browser: "firefox",
      executablePath: "/usr/bin/firefox-esr",
      headless: true,
      defaultViewport: { width: 1000, height: 760 },
      env: { ...process.env, HOME: dir },
      extraPrefsFirefox: { "datareporting.policy.dataSubmissionEnabled": false,
        "app.update.enabled": false, "extensions.autoDisableScopes": 0 },
    });
    let id = null;
    if (ext) id = await browser.installExtension(ext);
    return { version: await browser.version(), extension: id };
  }
  throw new Error("unknown browser " + kind);
}

async function run(line) {
  const [verb, ...rest] = line.split(" ");
  const arg = rest.join(" ");
  switch (verb) {
    case "launch": {
      const [kind, dir, ext] = rest;
      return launch(kind, dir, ext);
    }
    case "goto":
      if (page !== null) await page.close();
      page = await browser.newPage();
      page.on("console", (m) => process.stderr.write(`[page] ${m.text()}\n`));
      await page.goto(arg, { waitUntil: "load", timeout: 60000 });
      return page.url();
    case "call":
      return page.evaluate(async (expr) => {
        try {
          // eslint-disable-next-line no-eval
          return { value: await (0, eval)(expr) };
        } catch (e) {
          return { thrown: { name: e.name, message: e.message, details: e.details ?? null } };
        }
      }, arg);
    case "screenshot":
      await page.screenshot({ path: arg });
      return arg;
    case "close":
      if (browser !== null) await browser.close();
      browser = null;
      page = null;
      return true;
    default:
      throw new Error("unknown command " + verb);
  }
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (line.trim() === "") continue;
  try {
    say({ ok: await run(line) });
  } catch (e) {
    say({ error: String(e && e.message ? e.message : e) });
  }
}
if (browser !== null) await browser.close();
