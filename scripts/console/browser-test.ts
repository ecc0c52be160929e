/**
 * The console in a real browser: Debian's Chromium (installed first if missing, `ensure-browser.ts`)
 * driven by playwright-core, against the router on bare workerd (as `npm run serve -- --demo` runs
 * it) with the demo config and simulated origins. What a person does, and what an attacker tries:
 *
 * - sign in with a wrong token, then as the admin; the session cookie is HttpOnly, Secure,
 *   SameSite=Strict and not readable by script;
 * - create a tenant and a key from the console, send traffic with the key, see the numbers change,
 *   and check every number a page shows against the admin API's own answer for the same path;
 * - every page renders, with no console error, and no inline script runs under its CSP;
 * - stop and resume a canary (a stopped canary gets no traffic), roll the config back, export CSV;
 * - the read-only token sees the pages and changes nothing; a form without its CSRF token and a
 *   cross-site form are refused;
 * - a tenant sees its own page alone (other pages and tenants refused by URL and by request), and
 *   its session ends when its key is revoked; the next request with the revoked key is refused;
 * - sign out.
 *
 * A screenshot of each page goes to node_modules/.cache/token-router/console/ (`--out`); with
 * `--readme`, the overview's and the origins' also to scripts/console/screenshots/ (the README shows them).
 * Prints one line per check and "N passed, N failed"; exits non-zero on any failure.
 *
 *   npm run test:console            (tsx scripts/console/browser-test.ts [--out dir] [--headed])
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium, type Browser, type BrowserContext, type Page, type Response as PageResponse } from "playwright-core";
import demoConfig from "../../src/config/demo.json";
import type { RouterConfigInput } from "../../src/config/schema";
import { demoSimOptions } from "../../src/sim/demo";
import { startSimServer } from "../../src/sim/node";
import type { SimOptions } from "../../src/sim/options";
import { DEMO_SECRETS, LOCAL_ADMIN_TOKEN, pointAtSim } from "../lib/demo";
import { PROJECT_ROOT, startRouterOnWorkerd } from "../lib/workerd-router";
import { fieldValue, sameValue } from "../../src/console/bound-values";
import { CHROMIUM_ARGS, ensureChromium } from "./ensure-browser";

const { values: flags } = parseArgs({
  options: {
    out: { type: "string", default: join(PROJECT_ROOT, "node_modules/.cache/token-router/console") },
    headed: { type: "boolean", default: false },
    readme: { type: "boolean", default: false },
  },
});

/** The read-only admin token this run sets (`ADMIN_READ_TOKEN`). */
const READ_TOKEN = "read-local";
const TENANT = "acme";
/** Requests sent with the console-made key before the numbers are checked. */
const TRAFFIC = 12;

/** The demo's origins, ten times quicker than a person would watch them: TTFTs of tens of ms, not zero. */
function quickDemo(options: SimOptions): SimOptions {
  const origins = Object.fromEntries(
    Object.entries(options.origins).map(([name, o]) => [name, { ...o, ttftBaseMs: (o.ttftBaseMs ?? 100) / 10, decodeTokensPerSec: (o.decodeTokensPerSec ?? 50) * 10 }]),
  );
  return { ...options, origins };
}

const started = Date.now();
const chromiumPath = ensureChromium();
mkdirSync(flags.out!, { recursive: true });
const stateDir = mkdtempSync(join(tmpdir(), "token-router-console-"));
const sim = await startSimServer({ host: "127.0.0.1", port: 0, sim: quickDemo(demoSimOptions) });
const router = await startRouterOnWorkerd({
  address: "127.0.0.1:0",
  routerConfig: JSON.stringify(pointAtSim(demoConfig as RouterConfigInput, sim.url)),
  secrets: { ...DEMO_SECRETS, ADMIN_READ_TOKEN: READ_TOKEN },
  stateDir,
  quiet: true,
});
const BASE = router.url;
const startedIn = Date.now() - started;

// ── the API, as a script calls it ─────────────────────────────────────────────────────────────

async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; data: T }> {
  const res = await fetch(`${BASE}${path}`, {
    method,
    headers: { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, data: (await res.json()) as T };
}

/** A system prompt every request shares, long enough for the pool's prefix cache to hold (and the origins page to show hits). */
const SYSTEM = `You are the console's test assistant. ${"Answer briefly and cite the page you were asked about. ".repeat(40)}`;

async function chat(key: string, scenario: string, turn = 0): Promise<{ status: number; origin: string | null }> {
  const res = await fetch(`${BASE}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({
      model: scenario,
      max_tokens: 8,
      messages: [
        { role: "system", content: SYSTEM },
        { role: "user", content: `Say hello to the console (${turn}).` },
      ],
    }),
  });
  await res.arrayBuffer();
  return { status: res.status, origin: res.headers.get("x-router-origin") };
}

async function until(what: string, ok: () => Promise<boolean>, ms = 8_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Summary {
  total: { requests: number };
}

const hourSummary = () => `/admin/usage/summary?from=${Date.now() - 3_600_000}&to=${Date.now() + 1}`;

// ── the browser ───────────────────────────────────────────────────────────────────────────────

/** One person at the console: a browser context of their own, its console errors collected. */
interface Person {
  context: BrowserContext;
  page: Page;
  errors: string[];
}

let browser: Browser | undefined;

/** The page's own globals, in the functions `page.evaluate` runs there (scripts compile without the DOM's types). */
declare const document: any;
declare const window: any;

async function person(): Promise<Person> {
  const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  // The console's own script asks before a destructive form: a person says yes.
  page.on("dialog", (d) => void d.accept());
  return { context, page, errors };
}

let shot = 0;
/** Pages the README shows (`--readme`). */
const README_SHOTS = new Set(["overview", "origins"]);

async function screenshot(p: Person, name: string): Promise<void> {
  shot++;
  const path = join(flags.out!, `${String(shot).padStart(2, "0")}-${name}.png`);
  await p.page.screenshot({ path, fullPage: true });
  if (flags.readme && README_SHOTS.has(name)) {
    mkdirSync(join(PROJECT_ROOT, "scripts/console/screenshots"), { recursive: true });
    copyFileSync(path, join(PROJECT_ROOT, "scripts/console/screenshots", `${name}.png`));
  }
}

async function goto(p: Person, path: string): Promise<PageResponse> {
  const res = await p.page.goto(`${BASE}${path}`);
  assert.ok(res, `no answer for ${path}`);
  return res;
}

/** Navigates by a click (or a submit) and returns the final document's answer. */
async function navigates(p: Person, act: () => Promise<unknown>): Promise<PageResponse> {
  const [res] = await Promise.all([p.page.waitForNavigation(), act()]);
  assert.ok(res, "the click did not navigate");
  return res;
}

async function signIn(p: Person, token: string): Promise<PageResponse> {
  await goto(p, "/console/sign-in");
  await p.page.fill("#token", token);
  return navigates(p, () => p.page.click("#sign-in"));
}

const text = (p: Person, selector: string) => p.page.locator(selector).first().innerText();

/** The last page's time to its first byte, as the browser measured it (Navigation Timing). */
let pageMs = 0;

/** A page renders for this person: status 200, its heading, no console error. */
async function renders(p: Person, path: string, heading: string, name: string): Promise<void> {
  const res = await goto(p, path);
  pageMs = await p.page.evaluate(() => {
    const nav = window.performance.getEntriesByType("navigation")[0] as { requestStart: number; responseStart: number };
    return nav.responseStart - nav.requestStart;
  });
  assert.equal(res.status(), 200, `${path}: ${res.status()} ${await text(p, "main")}`);
  assert.equal(await text(p, "h1"), heading);
  const csp = res.headers()["content-security-policy"] ?? "";
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  // No script without a source: the CSP would refuse it, and none is meant to be there.
  assert.equal(await p.page.locator("script:not([src])").count(), 0, `${path} holds an inline script`);
  assert.deepEqual(p.errors, [], `${path}: console errors`);
  await screenshot(p, name);
}

/**
 * Every number on the page (`data-api`, `data-field`, `data-value`) against the admin API's answer
 * for the same path, asked now. Reloads and asks again while they differ (health figures move as
 * reports land), at most three times.
 */
async function numbersMatchTheApi(p: Person, minimum: number): Promise<string> {
  let mismatches: string[] = [];
  let count = 0;
  let apiMs = 0;
  let paths = 0;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0) {
      await new Promise((r) => setTimeout(r, 500));
      await p.page.reload();
    }
    const bound = await p.page.$$eval("[data-api]", (els) =>
      els.map((e) => ({ api: e.getAttribute("data-api")!, field: e.getAttribute("data-field")!, value: e.getAttribute("data-value")! })),
    );
    // The page's API calls, all at once as a client would make them: the time the page is compared with.
    const unique = [...new Set(bound.map((b) => b.api))];
    paths = unique.length;
    const t = performance.now();
    const answers = new Map(await Promise.all(unique.map(async (path) => [path, (await api("GET", path)).data] as const)));
    if (attempt === 0) apiMs = performance.now() - t;
    mismatches = bound.filter((b) => !sameValue(b.value, fieldValue(answers.get(b.api), b.field))).map((b) => `${b.api} ${b.field}: shown ${b.value}, API ${JSON.stringify(fieldValue(answers.get(b.api), b.field))}`);
    count = bound.length;
    if (mismatches.length === 0) break;
  }
  assert.deepEqual(mismatches, []);
  assert.ok(count >= minimum, `only ${count} bound numbers on ${p.page.url()}`);
  return `${count} numbers (page ${pageMs.toFixed(0)} ms to its first byte; its ${paths} API calls at once ${apiMs.toFixed(0)} ms)`;
}

/** A POST from the page's own script, as an attacker's script in the page would send it (with the session's cookie). */
function postFromPage(p: Person, path: string, form: Record<string, string>): Promise<{ status: number; text: string }> {
  return p.page.evaluate(
    async ([url, fields]) => {
      const res = await fetch(url, { method: "POST", body: new URLSearchParams(fields), redirect: "manual" });
      return { status: res.status, text: await res.text() };
    },
    [`${BASE}${path}`, form] as const,
  );
}

/** The session's CSRF token, as the page carries it (the sign-out form's). */
const csrfOf = (p: Person) => p.page.locator('form[action="/console/sign-out"] input[name="_csrf"]').getAttribute("value").then((v) => v ?? "");

// ── the checks ────────────────────────────────────────────────────────────────────────────────

const figures: string[] = [];
let admin!: Person;
let tenantKey = "";
let tenantKeyId = "";

const checks: Array<[string, () => Promise<void>]> = [
  [
    "a wrong token is refused on the sign-in page (401), and the admin token signs in to the overview",
    async () => {
      admin = await person();
      const wrong = await signIn(admin, "not-the-token");
      assert.equal(wrong.status(), 401);
      assert.equal(await text(admin, "#sign-in-error"), "That token or key is not valid.");
      // 127.0.0.1 is a secure context: the warning about plain http stays hidden.
      assert.equal(await admin.page.locator("#insecure").isVisible(), false);
      admin.errors.length = 0; // the 401 document itself is logged as a failed load
      await screenshot(admin, "sign-in-refused");
      const ok = await signIn(admin, LOCAL_ADMIN_TOKEN);
      assert.equal(ok.status(), 200);
      assert.equal(new URL(admin.page.url()).pathname, "/console/overview");
      assert.equal(await text(admin, "#role"), "admin");
    },
  ],
  [
    "the session cookie is HttpOnly, Secure, SameSite=Strict, __Host-, holds no token, and script cannot read it",
    async () => {
      const cookies = await admin.context.cookies(BASE);
      assert.equal(cookies.length, 1, JSON.stringify(cookies.map((c) => c.name)));
      const c = cookies[0]!;
      assert.equal(c.name, "__Host-tr_console");
      assert.deepEqual([c.httpOnly, c.secure, c.sameSite, c.path], [true, true, "Strict", "/"]);
      assert.ok(!Buffer.from(c.value.split(".")[1] ?? "", "base64url").toString().includes(LOCAL_ADMIN_TOKEN), "the cookie holds the token");
      assert.equal(await admin.page.evaluate(() => document.cookie), "");
    },
  ],
  [
    "creates a tenant and a key from the console; the secret is shown once",
    async () => {
      await goto(admin, "/console/tenants");
      await admin.page.fill('#create-tenant input[name="id"]', TENANT);
      await admin.page.fill('#create-tenant input[name="name"]', "Acme Corp.");
      await navigates(admin, () => admin.page.click('#create-tenant button[type="submit"]'));
      assert.equal(new URL(admin.page.url()).pathname, `/console/tenants/${TENANT}`);
      assert.equal(await text(admin, "#notice"), "Tenant created.");
      assert.equal((await api("GET", `/admin/tenants/${TENANT}`)).status, 200);

      await admin.page.fill('#create-key input[name="name"]', "production");
      const created = await navigates(admin, () => admin.page.click('#create-key button[type="submit"]'));
      assert.equal(created.status(), 201);
      tenantKey = await text(admin, "#secret-value");
      assert.match(tenantKey, new RegExp(`^tr-${TENANT}-`));
      const keys = await api<{ data: Array<{ id: string; name: string }> }>("GET", `/admin/tenants/${TENANT}/keys`);
      tenantKeyId = keys.data.data.find((k) => k.name === "production")!.id;
      await screenshot(admin, "key-created");
      // A reload shows the key's hint, never its secret again.
      await goto(admin, `/console/tenants/${TENANT}`);
      assert.equal(await admin.page.locator("#new-secret").count(), 0);
      assert.ok(!(await admin.page.content()).includes(tenantKey));
    },
  ],
  [
    `sends ${TRAFFIC} requests with the new key and sees the overview's numbers change, each equal to the API's`,
    async () => {
      await goto(admin, "/console/overview?window=1h");
      const before = Number(await admin.page.locator("#window-1h [data-field='total.requests']").getAttribute("data-value"));
      // One request first, so the others find its prefix in the pool's cache.
      const scenarios = ["chat-default", "chat-canary", "deepseek-v3"];
      const first = await chat(tenantKey, "chat-default");
      const sent = [first, ...(await Promise.all(Array.from({ length: TRAFFIC - 1 }, (_, i) => chat(tenantKey, scenarios[i % 3]!, i + 1))))];
      assert.deepEqual(sent.map((s) => s.status), Array(TRAFFIC).fill(200));
      await until("usage to settle", async () => (await api<Summary>("GET", hourSummary())).data.total.requests === before + TRAFFIC);
      // Health samples reach the origins' monitors in batches, within 2 s.
      await until("health reports", async () => (await api<{ data: Array<{ samples: number }> }>("GET", "/admin/origins")).data.data.reduce((n, o) => n + o.samples, 0) >= TRAFFIC);
      await renders(admin, "/console/overview?window=1h", "Overview", "overview");
      const after = Number(await admin.page.locator("#window-1h [data-field='total.requests']").getAttribute("data-value"));
      assert.equal(after, before + TRAFFIC);
      assert.match(await text(admin, "#top-tenants"), new RegExp(TENANT));
      figures.push(`overview: ${await numbersMatchTheApi(admin, 20)}`);
    },
  ],
  [
    "origins, scenarios, a scenario, tenants, a tenant and config render with data, every number equal to the API's",
    async () => {
      await renders(admin, "/console/origins", "Origins", "origins");
      assert.equal(await admin.page.locator("section.card[id^='origin-']").count(), 3);
      assert.ok((await admin.page.locator("svg.chart rect.bar").count()) > 0, "no TTFT profile bar");
      figures.push(`origins: ${await numbersMatchTheApi(admin, 20)}`);
      await renders(admin, "/console/scenarios", "Scenarios", "scenarios");
      assert.match(await text(admin, "#scenarios"), /chat-canary/);
      await renders(admin, "/console/scenarios/chat-canary", "Scenario chat-canary", "scenario");
      await admin.page.locator("details.decision summary").first().click();
      assert.ok(await admin.page.locator("details.decision[open] table").first().isVisible(), "a decision does not expand");
      figures.push(`scenario: ${await numbersMatchTheApi(admin, 3)}`);
      await renders(admin, "/console/tenants", "Tenants", "tenants");
      figures.push(`tenants: ${await numbersMatchTheApi(admin, 2)}`);
      await renders(admin, `/console/tenants/${TENANT}`, `Tenant ${TENANT}`, "tenant");
      assert.equal(await admin.page.locator(`#key-${tenantKeyId} [data-field$='.requests']`).getAttribute("data-value"), String(TRAFFIC));
      figures.push(`tenant: ${await numbersMatchTheApi(admin, 10)}`);
      for (const by of ["model", "origin"]) {
        await renders(admin, `/console/tenants/${TENANT}?by=${by}`, `Tenant ${TENANT}`, `tenant-by-${by}`);
        await numbersMatchTheApi(admin, 10);
      }
      await renders(admin, "/console/config", "Config", "config");
    },
  ],
  [
    "no inline script runs under the console's CSP, and the attempt is reported as a violation",
    async () => {
      await goto(admin, "/console/overview");
      const outcome = await admin.page.evaluate(async () => {
        const violations: string[] = [];
        document.addEventListener("securitypolicyviolation", (e: { violatedDirective: string }) => violations.push(e.violatedDirective));
        const w = window as Record<string, unknown>;
        const script = document.createElement("script");
        script.textContent = "window.__inline = 'ran'";
        document.head.appendChild(script);
        const button = document.createElement("button");
        button.setAttribute("onclick", "window.__handler = 'ran'");
        document.body.appendChild(button);
        button.click();
        await new Promise((r) => setTimeout(r, 100));
        return { inline: w.__inline ?? null, handler: w.__handler ?? null, violations };
      });
      assert.deepEqual(outcome.inline, null);
      assert.deepEqual(outcome.handler, null);
      assert.ok(outcome.violations.length >= 2 && outcome.violations.every((v) => v.startsWith("script-src")), JSON.stringify(outcome.violations));
      admin.errors.length = 0; // the two refusals, logged by the browser as it should
    },
  ],
  [
    "stops the canary from the console (it then gets no traffic), and resumes it",
    async () => {
      await goto(admin, "/console/scenarios/chat-canary");
      assert.equal(await text(admin, "#canary-state"), "running");
      await admin.page.fill('#canary-stop input[name="reason"]', "browser test");
      await navigates(admin, () => admin.page.click('#canary-stop button[type="submit"]'));
      assert.equal(await text(admin, "#notice"), "Canary stopped.");
      assert.equal(await text(admin, "#canary-state"), "stopped");
      assert.match(await text(admin, "#canary-reason"), /stopped by hand: browser test/);
      const origins = await api<{ data: Array<{ origin: string; canaryStops: Record<string, unknown> }> }>("GET", "/admin/origins");
      assert.ok(origins.data.data.find((o) => o.origin === "maas-beta")!.canaryStops["chat-canary"], "the API does not show the stop");
      await screenshot(admin, "canary-stopped");
      const served = await Promise.all(Array.from({ length: 20 }, () => chat(tenantKey, "chat-canary")));
      assert.deepEqual(served.filter((s) => s.status !== 200 || s.origin === "maas-beta"), []);

      await navigates(admin, () => admin.page.click('#canary-resume button[type="submit"]'));
      assert.equal(await text(admin, "#notice"), "Canary resumed.");
      assert.equal(await text(admin, "#canary-state"), "running");
      const resumed = await api<{ data: Array<{ origin: string; canaryStops: Record<string, unknown> }> }>("GET", "/admin/origins");
      assert.deepEqual(resumed.data.data.find((o) => o.origin === "maas-beta")!.canaryStops, {});
    },
  ],
  [
    "shows the diff between two config versions and rolls back to the first",
    async () => {
      const live = await api<{ version: number; config: RouterConfigInput }>("GET", "/admin/config");
      const changed = structuredClone(live.data.config);
      changed.scenarios["chat-default"]!.description = "Changed by the browser test.";
      assert.equal((await api("PUT", "/admin/config", { config: changed, message: "a description" })).status, 200);
      await goto(admin, "/console/config");
      assert.match(await text(admin, "#diff-table"), /scenarios\.chat-default\.description/);
      await screenshot(admin, "config-diff");
      await navigates(admin, () => admin.page.click(`#version-${live.data.version} button[type="submit"]`));
      assert.equal(await text(admin, "#notice"), "Rolled back: a new version restores that config.");
      const after = await api<{ version: number; config: RouterConfigInput }>("GET", "/admin/config");
      assert.equal(after.data.version, live.data.version + 2);
      assert.equal(after.data.config.scenarios["chat-default"]!.description, live.data.config.scenarios["chat-default"]!.description);
      assert.equal(await text(admin, "#live-version"), String(after.data.version));
    },
  ],
  [
    "exports the tenant's usage as CSV, a row per request",
    async () => {
      await goto(admin, `/console/tenants/${TENANT}`);
      const [download] = await Promise.all([admin.page.waitForEvent("download"), admin.page.click("#export-csv")]);
      assert.equal(download.suggestedFilename(), `usage-${TENANT}.csv`);
      const csv = readFileSync((await download.path())!, "utf8").trim().split("\n");
      assert.match(csv[0]!, /requestId|request_id/);
      assert.equal(csv.length - 1, TRAFFIC + 20);
    },
  ],
  [
    "a form without its CSRF token is refused (403), and so is a cross-site form; neither changes anything",
    async () => {
      await goto(admin, "/console/tenants");
      const noToken = await postFromPage(admin, "/console/tenants", { id: "no_token" });
      assert.equal(noToken.status, 403);
      assert.match(noToken.text, /CSRF token is missing or wrong/);
      const wrongToken = await postFromPage(admin, "/console/tenants", { id: "no_token", _csrf: "x".repeat(32) });
      assert.equal(wrongToken.status, 403);
      assert.equal((await api("GET", "/admin/tenants/no_token")).status, 404);

      // Another site's page (localhost is another site than 127.0.0.1) posts a form at the console
      // with the admin's browser, its CSRF token copied from a real page.
      const token = await csrfOf(admin);
      const evil = await attackerSite(`<form method="post" action="${BASE}/console/tenants"><input name="id" value="cross_site"><input name="_csrf" value="${token}"></form><script>document.forms[0].submit()</script>`);
      try {
        const [res] = await Promise.all([admin.page.waitForNavigation({ url: `${BASE}/console/tenants` }), admin.page.goto(evil.url)]);
        assert.equal(res?.status(), 403);
        assert.match(await text(admin, "#notice"), /not sent from the console's own site/);
      } finally {
        evil.server.close();
      }
      assert.equal((await api("GET", "/admin/tenants/cross_site")).status, 404);
      admin.errors.length = 0; // the 403 document
    },
  ],
  [
    "the read-only token sees every page and no form; its posts are refused",
    async () => {
      const reader = await person();
      try {
        await signIn(reader, READ_TOKEN);
        assert.equal(await text(reader, "#role"), "read-only");
        await renders(reader, "/console/overview", "Overview", "read-only-overview");
        await goto(reader, `/console/tenants/${TENANT}`);
        await goto(reader, "/console/tenants");
        assert.equal(await reader.page.locator("#create-tenant").count(), 0);
        await goto(reader, `/console/tenants/${TENANT}`);
        assert.equal(await reader.page.locator("#create-key, [data-revoke]").count(), 0);
        await goto(reader, "/console/scenarios/chat-canary");
        assert.equal(await reader.page.locator("#canary-stop").count(), 0);
        const write = await postFromPage(reader, "/console/tenants", { id: "read_only", _csrf: await csrfOf(reader) });
        assert.equal(write.status, 403);
        assert.match(write.text, /read-only token changes nothing/);
        const stop = await postFromPage(reader, "/console/scenarios/chat-canary/canary/stop", { _csrf: await csrfOf(reader) });
        assert.equal(stop.status, 403);
        assert.equal((await api("GET", "/admin/tenants/read_only")).status, 404);
        reader.errors.length = 0;
      } finally {
        await reader.context.close();
      }
    },
  ],
  [
    "a tenant sees its own usage, budgets and keys and nothing else; its session ends when its key is revoked, and so do its requests",
    async () => {
      assert.equal((await api("POST", `/admin/tenants/${TENANT}/budgets`, { metric: "cost", period: "month", limit: 5_000_000 })).status, 201);
      const tenant = await person();
      try {
        await signIn(tenant, tenantKey);
        assert.equal(new URL(tenant.page.url()).pathname, `/console/tenants/${TENANT}`);
        assert.equal(await text(tenant, "#role"), `tenant ${TENANT}`);
        await renders(tenant, `/console/tenants/${TENANT}`, `Tenant ${TENANT}`, "tenant-own-page");
        assert.equal(await tenant.page.locator(".budget").count(), 1);
        assert.equal(await tenant.page.locator("form[method='post']:not([action='/console/sign-out'])").count(), 0);
        figures.push(`tenant's own page: ${await numbersMatchTheApi(tenant, 10)}`);
        // By URL: the operator's pages (403) and another tenant's (404, as if it did not exist).
        for (const [path, status] of [["/console/overview", 403], ["/console/origins", 403], ["/console/config", 403], ["/console/tenants", 403], ["/console/tenants/demo", 404], ["/console/tenants/demo/usage.csv", 404]] as const) {
          assert.equal((await goto(tenant, path)).status(), status, path);
          assert.ok(!(await tenant.page.content()).includes("tr-demo"), path);
        }
        // By request: its own page's forms do not exist, and a forged one is refused; the admin API takes no cookie.
        const csrf = await csrfOf(tenant);
        for (const path of [`/console/tenants/${TENANT}/keys`, `/console/tenants/${TENANT}/budgets`, "/console/tenants/demo/keys", "/console/scenarios/chat-canary/canary/stop"]) {
          assert.equal((await postFromPage(tenant, path, { _csrf: csrf, name: "mine" })).status, 403, path);
        }
        const adminApi = await tenant.page.evaluate(async (url) => (await fetch(url)).status, `${BASE}/admin/tenants/demo`);
        assert.equal(adminApi, 401);
        assert.equal((await api<{ data: unknown[] }>("GET", `/admin/tenants/${TENANT}/keys`)).data.data.length, 1);
        tenant.errors.length = 0;

        // The operator revokes the key: the next request with it is refused, and the tenant's session ends.
        await goto(admin, `/console/tenants/${TENANT}`);
        await navigates(admin, () => admin.page.click(`[data-revoke="${tenantKeyId}"]`));
        assert.equal(await text(admin, "#notice"), "Key revoked: requests with it are refused within one lease window.");
        assert.equal(await admin.page.locator(`#key-${tenantKeyId}`).getAttribute("data-key-state"), "revoked");
        await until("the revoked key to be refused", async () => (await chat(tenantKey, "chat-default")).status === 401);
        await goto(tenant, `/console/tenants/${TENANT}`);
        assert.equal(new URL(tenant.page.url()).pathname, "/console/sign-in");
      } finally {
        await tenant.context.close();
      }
    },
  ],
  [
    "sign-out ends the session: the cookie is gone and the pages ask to sign in",
    async () => {
      await goto(admin, "/console/overview");
      await navigates(admin, () => admin.page.click("#sign-out"));
      assert.equal(new URL(admin.page.url()).pathname, "/console/sign-in");
      assert.deepEqual(await admin.context.cookies(BASE).then((cs) => cs.filter((c) => c.name === "__Host-tr_console")), []);
      await goto(admin, "/console/tenants");
      assert.equal(new URL(admin.page.url()).pathname, "/console/sign-in");
      await screenshot(admin, "sign-in");
      assert.deepEqual(admin.errors, []);
    },
  ],
];

/** A page on another site (`localhost` where the console is `127.0.0.1`). */
async function attackerSite(html: string): Promise<{ url: string; server: Server }> {
  const server = createServer((_, res) => res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html>${html}`));
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const port = (server.address() as { port: number }).port;
  return { url: `http://localhost:${port}/`, server };
}

let passed = 0;
let failed = 0;
try {
  browser = await chromium.launch({ executablePath: chromiumPath, headless: !flags.headed, args: CHROMIUM_ARGS.filter((a) => a !== "--headless") });
  for (const [name, check] of checks) {
    const t = Date.now();
    try {
      await check();
      passed++;
      console.log(`  ✓ console: ${name} (${Date.now() - t} ms)`);
    } catch (e) {
      failed++;
      console.log(`  ✗ console: ${name}\n    ${String((e as Error).stack ?? e).split("\n").slice(0, 8).join("\n    ")}`);
      if (failed === 1 && admin) await admin.page.screenshot({ path: join(flags.out!, "failure.png"), fullPage: true }).catch(() => undefined);
    }
  }
} finally {
  await browser?.close();
  await router.stop();
  await sim.close();
  rmSync(stateDir, { recursive: true, force: true });
}
console.log(`console: numbers checked against the API:\n${figures.map((f) => `    ${f}`).join("\n")}`);
console.log(`console: router up in ${(startedIn / 1000).toFixed(1)} s, ${((Date.now() - started) / 1000).toFixed(1)} s in all; screenshots in ${flags.out}`);
console.log(`console: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
