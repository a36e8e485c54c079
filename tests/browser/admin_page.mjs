// admin_page.mjs: an operator opens the gateway's /admin/ page in a browser.
//
//   node tests/browser/admin_page.mjs --url BASE/admin/ --token SERVICE_TOKEN --out DIR \
//        --count ID=N --then ID=M [--timeout-ms 30000]
//
// Starts Debian's Chromium (/usr/bin/chromium) headless through playwright-core
// with a fresh user data directory, opens the page, types the token into its
// form, and waits until the element #ID (a count cell, e.g.
// payments-count-created) reads N and the payments table has rows. Takes a
// screenshot, writes DIR/ready (the caller then makes something change) and
// waits until #ID of --then reads M: the page's polling refreshed it. A second
// screenshot, then one JSON line {"ok", "title", "rows", "screenshots", "ms"};
// exits 0 when both counts were seen, 1 otherwise (2 for bad arguments).
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.PM_CHROMIUM || "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

function usage(msg) {
  process.stderr.write(`admin_page: ${msg}\nusage: admin_page.mjs --url URL --token T --out DIR ` +
    "--count ID=N --then ID=M [--timeout-ms N]\n");
  process.exit(2);
}
const opt = { timeoutMs: 30000 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i], v = argv[i + 1];
  if (v === undefined) usage(`${k} needs a value`);
  if (k === "--url") opt.url = v;
  else if (k === "--token") opt.token = v;
  else if (k === "--out") opt.out = v;
  else if (k === "--count") opt.count = v.split("=");
  else if (k === "--then") opt.then = v.split("=");
  else if (k === "--timeout-ms") opt.timeoutMs = Number(v);
  else usage(`unknown option ${k}`);
}
if (!opt.url || !opt.token || !opt.out || !opt.count || !opt.then) usage("missing options");
mkdirSync(opt.out, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), "pm-admin-"));
const started = Date.now();
const result = { ok: false };
const shots = [];
let context = null;

const watchdog = setTimeout(() => {
  process.stderr.write(`admin_page: not done after ${opt.timeoutMs} ms\n`);
  finish(1);
}, opt.timeoutMs + 5000);
let finishing = false;
async function finish(code) {
  if (finishing) return;
  finishing = true;
  clearTimeout(watchdog);
  try { if (context) await context.close(); } catch { /* gone already */ }
  rmSync(profile, { recursive: true, force: true });
  result.screenshots = shots;
  result.ms = Date.now() - started;
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(code);
}

async function waitText(page, id, want) {
  await page.waitForFunction(([i, w]) => {
    const e = document.getElementById(i);
    return e && e.textContent.trim() === w;
  }, [id, want], { timeout: opt.timeoutMs, polling: 200 });
}

try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, timeout: opt.timeoutMs,
    viewport: { width: 1400, height: 1000 },
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(opt.timeoutMs);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  const resp = await page.goto(opt.url, { waitUntil: "load" });
  if (!resp || resp.status() !== 200) throw new Error(`the page answered ${resp ? resp.status() : "nothing"}`);
  result.title = await page.title();
  await page.locator("#token").waitFor({ state: "visible" });
  await page.fill("#token", opt.token);
  await page.click("button[type=submit]");
  await waitText(page, opt.count[0], opt.count[1]);
  await page.waitForFunction(() => document.querySelectorAll("#payments-latest tbody tr").length > 0);
  result.rows = await page.locator("#payments-latest tbody tr").count();
  const first = join(opt.out, "admin-page.png");
  await page.screenshot({ path: first, fullPage: true });
  shots.push(first);
  writeFileSync(join(opt.out, "ready"), "ready\n");
  await waitText(page, opt.then[0], opt.then[1]);
  const second = join(opt.out, "admin-page-refreshed.png");
  await page.screenshot({ path: second, fullPage: true });
  shots.push(second);
  result.stored_token = await page.evaluate(() => sessionStorage.getItem("paymesh_admin_token") !== null);
  result.errors = errors;
  result.ok = errors.length === 0;
  await finish(result.ok ? 0 : 1);
} catch (e) {
  result.error = String(e && e.message ? e.message.split("\n")[0] : e);
  try {
    const page = context && context.pages()[0];
    if (page) {
      const f = join(opt.out, "admin-page-failed.png");
      await page.screenshot({ path: f, fullPage: true });
      shots.push(f);
      result.status = await page.evaluate(() => (document.getElementById("status") || {}).textContent);
    }
  } catch { /* nothing more to show */ }
  await finish(1);
}
