// bazaarpay_checkout.mjs: a person pays a BazaarPay checkout in a browser (or
// an order on one of the banks' card pages: they have the same #pay button).
//
//   node tests/browser/bazaarpay_checkout.mjs --url PAYMENT_URL --expect REDIRECT_URL \
//        --out DIR [--button pay|cancel] [--timeout-ms 30000]
//
// Starts Debian's Chromium (/usr/bin/chromium) headless through playwright-core
// with a fresh user data directory (a temporary one, removed at the end), opens
// PAYMENT_URL (the sandbox's payment page), clicks the #pay (or #cancel)
// button, and waits until the page is on REDIRECT_URL: the same origin and path
// (BazaarPay may append query parameters of its own, which are not relied on).
// Screenshots of the payment page and of the page landed on go to DIR. Prints
// one JSON line {"ok", "landed", "title", "screenshots", "ms"} and exits 0 when
// the redirect came, 1 otherwise (2 for bad arguments). Everything stays on
// loopback: Chromium's background networking is off.
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.PM_CHROMIUM || "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function usage(msg) {
  process.stderr.write(`bazaarpay_checkout: ${msg}\n` +
    "usage: bazaarpay_checkout.mjs --url PAYMENT_URL --expect REDIRECT_URL --out DIR " +
    "[--button pay|cancel] [--timeout-ms N]\n");
  process.exit(2);
}

function parseArgs(argv) {
  const o = { button: "pay", timeoutMs: 30000 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i], v = argv[i + 1];
    if (v === undefined) usage(`${k} needs a value`);
    if (k === "--url") o.url = v;
    else if (k === "--expect") o.expect = v;
    else if (k === "--out") o.out = v;
    else if (k === "--button") o.button = v;
    else if (k === "--timeout-ms") o.timeoutMs = Number(v);
    else usage(`unknown argument ${k}`);
  }
  if (!o.url || !o.expect || !o.out) usage("--url, --expect and --out are required");
  if (!["pay", "cancel", "decline"].includes(o.button))
    usage("--button is pay, cancel (BazaarPay) or decline (the banks' card pages)");
  if (!Number.isInteger(o.timeoutMs) || o.timeoutMs < 1000 || o.timeoutMs > 300000)
    usage("--timeout-ms is 1000..300000");
  for (const u of [o.url, o.expect]) {
    let p;
    try { p = new URL(u); } catch { usage(`not a URL: ${u}`); }
    if (p.hostname !== "127.0.0.1" && p.hostname !== "localhost")
      usage(`only loopback URLs here: ${u}`);
  }
  return o;
}

const opt = parseArgs(process.argv.slice(2));
const started = Date.now();
const want = new URL(opt.expect);
const landedOn = (u) => u.origin === want.origin && u.pathname === want.pathname;
mkdirSync(opt.out, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), "pm-chromium-"));
const shots = [];
let context = null;
let result = { ok: false };

// Whatever happens, the run is bounded: past the limit the browser is closed
// and the script fails.
const watchdog = setTimeout(() => {
  process.stderr.write(`bazaarpay_checkout: no redirect after ${opt.timeoutMs} ms\n`);
  finish(1);
}, opt.timeoutMs + 5000);

let finishing = false;
async function finish(code) {
  if (finishing) return;
  finishing = true;
  clearTimeout(watchdog);
  try { if (context) await context.close(); } catch { /* the browser is gone already */ }
  rmSync(profile, { recursive: true, force: true });
  result.screenshots = shots;
  result.ms = Date.now() - started;
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(code);
}

try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    timeout: opt.timeoutMs,
    viewport: { width: 800, height: 900 },
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(opt.timeoutMs);
  const resp = await page.goto(opt.url, { waitUntil: "load" });
  if (!resp || resp.status() !== 200)
    throw new Error(`the payment page answered ${resp ? resp.status() : "nothing"}`);
  const button = page.locator(`#${opt.button}`);
  await button.waitFor({ state: "visible" });
  result.title = await page.title();
  const before = join(opt.out, `bazaarpay-page.png`);
  await page.screenshot({ path: before, fullPage: true });
  shots.push(before);
  await Promise.all([
    page.waitForURL((u) => landedOn(u), { waitUntil: "load" }),
    button.click(),
  ]);
  result.landed = page.url();
  const after = join(opt.out, `bazaarpay-${opt.button}-landed.png`);
  await page.screenshot({ path: after, fullPage: true });
  shots.push(after);
  result.ok = true;
  await finish(0);
} catch (e) {
  result.error = String(e && e.message ? e.message.split("\n")[0] : e);
  try {
    const page = context && context.pages()[0];
    if (page) {
      result.landed = page.url();
      const f = join(opt.out, "bazaarpay-failure.png");
      await page.screenshot({ path: f, fullPage: true });
      shots.push(f);
    }
  } catch { /* no screenshot then */ }
  await finish(1);
}
