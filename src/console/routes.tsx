/**
 * The console (`/console`), served by the Worker: pages rendered on the server from the admin
 * API's answers, one small script and one stylesheet of its own, no CDN.
 *
 *   GET  /console                          → the session's home (operators: overview; a tenant: its page)
 *   GET  /console/sign-in, POST …          sign in with an admin token, the read token or a tenant key
 *   POST /console/sign-out
 *   GET  /console/overview?window=1h|1d|30d
 *   GET  /console/origins
 *   GET  /console/scenarios, /console/scenarios/:s       POST …/:s/canary/stop|resume
 *   GET  /console/tenants?search&after                   POST /console/tenants
 *   GET  /console/tenants/:t?by=day|model|origin          POST …/:t/keys, …/keys/:k/revoke|rotate,
 *                                                          …/limits, …/budgets, …/disable|enable
 *   GET  /console/tenants/:t/usage.csv
 *   GET  /console/config?from&to                          POST /console/config/rollback
 *   GET  /console/assets/console.css|js
 *
 * Who may see what: `admin` everything; `read` every page and no form (its POSTs are refused);
 * `tenant` its own tenant's page and CSV alone (any other page is 403, another tenant's 404).
 * Every POST must come from this site (`Origin`, `Sec-Fetch-Site`) and carry the session's CSRF
 * token. See `session.ts` for the cookie, `sign-in.ts` for how long a session holds.
 */
import { Hono, type Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Child } from "hono/jsx";
import { TENANT_ID_PATTERN } from "../auth/api-key";
import type { AppEnv } from "../env";
import { isolateOf } from "../isolate";
import { AdminClient, type ApiAnswer } from "./admin-client";
import { CONSOLE_JS } from "./assets/client";
import { CONSOLE_CSS } from "./assets/styles";
import { Layout } from "./components";
import { CSRF_FIELD, csrfToken, sameOrigin, signInToken, tokenMatches } from "./csrf";
import { ConsoleError, type Page } from "./page";
import { configPage } from "./pages/config";
import { originsPage } from "./pages/origins";
import { overviewPage, WINDOWS, type WindowId } from "./pages/overview";
import { scenarioPage, scenariosPage } from "./pages/scenarios";
import { SignInForm } from "./pages/sign-in";
import { tenantPage, tenantsPage, USAGE_GROUPS_SHOWN, type NewSecret } from "./pages/tenants";
import { securityHeaders } from "./security-headers";
import { newSessionId, SESSION_TTL_MS, signSession, verifySession, type Session, type SessionRole } from "./session";
import { operatorSessionHolds, sessionKeyOf, signIn, tenantSessionHolds } from "./sign-in";

/** `__Host-`: the browser keeps it only if Secure, for this host alone, on path `/` (RFC 6265bis §4.1.3.2). */
export const SESSION_COOKIE = "__Host-tr_console";
/** The sign-in form's nonce (its CSRF token is a MAC of it). */
export const SIGN_IN_COOKIE = "__Host-tr_sign_in";
const SIGN_IN_TTL_S = 600;
/** Console forms are a few fields; anything bigger is refused unread. */
const FORM_LIMIT = 16 * 1024;

type C = Context<AppEnv>;

const cookieOptions = { path: "/", httpOnly: true, secure: true, sameSite: "Strict" } as const;

/** Notices a redirect may ask for, by code (a URL never carries the text shown). */
const NOTICES = {
  "tenant-created": "Tenant created.",
  "key-revoked": "Key revoked: requests with it are refused within one lease window.",
  "limits-set": "Limits set.",
  "budget-added": "Budget added.",
  "tenant-disabled": "Tenant disabled: its keys are refused within one lease window.",
  "tenant-enabled": "Tenant enabled.",
  "canary-stopped": "Canary stopped.",
  "canary-resumed": "Canary resumed.",
  "rolled-back": "Rolled back: a new version restores that config.",
} as const;
type NoticeCode = keyof typeof NOTICES;

interface Signed {
  session: Session;
  key: CryptoKey;
  api: AdminClient;
  csrf: string;
  /** Whether the credential behind the session still holds (asked alongside the page's data). */
  holds: Promise<boolean>;
}

/** The request's session, if its cookie is one of ours and unexpired; its credential's check started. */
async function signedIn(c: C): Promise<Signed | null> {
  const key = await sessionKeyOf(c);
  const session = await verifySession(key, getCookie(c, SESSION_COOKIE), Date.now());
  if (!session) return null;
  const api = new AdminClient(c, session);
  const holds = session.role === "tenant" ? tenantSessionHolds(api, session, isolateOf(c.env).clock.now()) : operatorSessionHolds(c, session);
  return { session, key, api, csrf: await csrfToken(key, session.sid), holds };
}

function home(session: Session): string {
  return session.role === "tenant" ? `/console/tenants/${session.tenant}` : "/console/overview";
}

async function html(c: C, element: Child, status = 200): Promise<Response> {
  return c.html(`<!doctype html>${String(await element)}`, status as 200);
}

function signInRedirect(c: C): Response {
  deleteCookie(c, SESSION_COOKIE, cookieOptions);
  return c.redirect("/console/sign-in", 303);
}

/** A page for a session without a page of its own: the error and a way back. */
function refusal(c: C, s: Signed | null, status: number, text: string): Promise<Response> {
  return html(
    c,
    <Layout title={status === 404 ? "Not found" : "Not allowed"} session={s?.session ?? null} csrf={s?.csrf ?? ""} notice={{ kind: "error", text }}>
      <p>
        <a href={s ? home(s.session) : "/console/sign-in"}>Back</a>
      </p>
    </Layout>,
    status,
  );
}

interface PageSpec {
  roles: readonly SessionRole[];
  title: string | ((c: C) => string);
  active: string;
  refresh?: number;
}

/** Renders a page for a signed-in session whose credential holds (checked alongside the data). */
async function renderPage(c: C, s: Signed, spec: PageSpec, body: (p: Page) => Promise<Child>, extra: { notice?: { kind: "ok" | "error"; text: string } | null; status?: number } = {}): Promise<Response> {
  const p: Page = { c, api: s.api, session: s.session, csrf: s.csrf, now: isolateOf(c.env).clock.now() };
  const [holds, rendered] = await Promise.all([s.holds, body(p).then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e }))]);
  if (!holds) return signInRedirect(c);
  const title = typeof spec.title === "string" ? spec.title : spec.title(c);
  const layout = { title, session: s.session, csrf: s.csrf, active: spec.active, refresh: spec.refresh };
  if (!rendered.ok) {
    if (!(rendered.e instanceof ConsoleError)) throw rendered.e;
    return html(c, <Layout {...layout} notice={{ kind: "error", text: rendered.e.message }} />, rendered.e.status);
  }
  const code = c.req.query("notice");
  const notice = extra.notice ?? (code && Object.hasOwn(NOTICES, code) ? { kind: "ok" as const, text: NOTICES[code as NoticeCode] } : null);
  return html(
    c,
    <Layout {...layout} notice={notice}>
      {rendered.v}
    </Layout>,
    extra.status ?? 200,
  );
}

/** A GET page: signed in, of a role that may see it. */
function page(spec: PageSpec, body: (p: Page, c: C) => Promise<Child>) {
  return async (c: C) => {
    const s = await signedIn(c);
    if (!s) return signInRedirect(c);
    if (!spec.roles.includes(s.session.role)) return refusal(c, s, 403, "This page is for operators.");
    return renderPage(c, s, spec, (p) => body(p, c));
  };
}

type Form = Record<string, string>;

/**
 * The form fields of a POST (text fields only), or null when its length is unsaid (browsers say
 * it), too large, or the body is not a form that parses (a broken multipart body, say): the
 * action is then refused as one without its CSRF token.
 */
async function formOf(c: C): Promise<Form | null> {
  const length = c.req.header("content-length");
  if (length === undefined || !(Number(length) <= FORM_LIMIT)) return null;
  let parsed: Record<string, unknown>;
  try {
    parsed = await c.req.parseBody();
  } catch {
    return null;
  }
  const form: Form = {};
  for (const [k, v] of Object.entries(parsed)) if (typeof v === "string") form[k] = v;
  return form;
}

/**
 * A form POST: from this site, signed in as a role that may make it, with the session's CSRF
 * token, its credential holding. Anything else is refused before the action runs.
 */
function action(roles: readonly SessionRole[], run: (c: C, s: Signed, form: Form) => Promise<Response>) {
  return async (c: C) => {
    if (!sameOrigin(c.req.raw)) return refusal(c, null, 403, "Refused: this form was not sent from the console's own site.");
    const s = await signedIn(c);
    if (!s) return signInRedirect(c);
    if (!roles.includes(s.session.role)) return refusal(c, s, 403, s.session.role === "read" ? "Refused: the read-only token changes nothing." : "Refused: this is for operators.");
    const form = await formOf(c);
    if (!form || !(await tokenMatches(s.csrf, form[CSRF_FIELD]))) return refusal(c, s, 403, "Refused: the form's CSRF token is missing or wrong. Reload the page and try again.");
    if (!(await s.holds)) return signInRedirect(c);
    return run(c, s, form);
  };
}

const ADMIN_ONLY = ["admin"] as const;
const OPERATORS = ["admin", "read"] as const;

// ── form fields ──────────────────────────────────────────────────────────────────────────────

/** A whole number from a form field; null when empty; NaN when not a number (the API refuses it). */
function intField(value: string | undefined): number | null {
  const text = (value ?? "").trim();
  if (text === "") return null;
  return /^\d+$/.test(text) ? Number(text) : Number.NaN;
}

/** Rate limits from a form's `rpm`, `tpm`, `concurrency` (empty: unlimited). */
function limitsOf(form: Form) {
  return { rpm: intField(form.rpm), tpm: intField(form.tpm), concurrency: intField(form.concurrency) };
}

/** A budget amount: USD with up to 6 decimals for cost (→ micro-dollars), whole tokens otherwise. */
function amountOf(text: string | undefined, metric: string): number | null {
  const t = (text ?? "").trim();
  if (t === "") return null;
  if (metric !== "cost") return intField(t);
  const m = /^(\d{1,12})(?:\.(\d{1,6}))?$/.exec(t);
  return m ? Number(m[1]) * 1_000_000 + Number((m[2] ?? "").padEnd(6, "0")) : Number.NaN;
}

function tenantTitle(c: C): string {
  return `Tenant ${c.req.param("tenant") ?? ""}`;
}

const TENANT_PAGE: PageSpec = { roles: ["admin", "read", "tenant"], title: tenantTitle, active: "tenant" };

function usageGroup(c: C): (typeof USAGE_GROUPS_SHOWN)[number] {
  const by = c.req.query("by");
  return (USAGE_GROUPS_SHOWN as readonly string[]).includes(by ?? "") ? (by as (typeof USAGE_GROUPS_SHOWN)[number]) : "day";
}

/** A tenant's page, after an action: its outcome as a notice, or a secret shown once. */
function tenantAfter(c: C, s: Signed, tenant: string, extra: { notice?: { kind: "ok" | "error"; text: string }; status?: number; secret?: NewSecret }) {
  return renderPage(c, s, { ...TENANT_PAGE, active: "tenants" }, (p) => tenantPage(p, tenant, { group: "day", secret: extra.secret ?? null }), extra);
}

/** The admin API's answer to a key made or rotated: the secret, shown once. */
interface IssuedKey {
  id: string;
  key: string;
}

/**
 * An admin's change to a tenant from its page: the admin API's answer, then the page again, with
 * the change's notice (after a redirect), the new secret shown once, or the API's error.
 */
function tenantChange<T>(call: (c: C, s: Signed, form: Form, tenant: string) => Promise<ApiAnswer<T>>, then: { notice: NoticeCode } | { secret: NewSecret["what"] }) {
  return action(ADMIN_ONLY, async (c, s, form) => {
    const tenant = pathTenant(c, s);
    if (tenant === null) return refusal(c, s, 404, "No such page.");
    const answer = await call(c, s, form, tenant);
    if (!answer.ok) return tenantAfter(c, s, tenant, { notice: { kind: "error", text: answer.message }, status: answer.status });
    if ("notice" in then) return c.redirect(`/console/tenants/${tenant}?notice=${then.notice}`, 303);
    const issued = answer.data as IssuedKey;
    return tenantAfter(c, s, tenant, { secret: { keyId: issued.id, secret: issued.key, what: then.secret }, status: then.secret === "created" ? 201 : 200 });
  });
}

/**
 * The tenant named by the path, when this session may reach it: a tenant id (anything else, such
 * as `x%2F..%2Fy`, never reaches an admin path, a header or a page), and for a tenant session
 * only its own. Null is a 404.
 */
function pathTenant(c: C, s: Signed): string | null {
  const tenant = c.req.param("tenant") ?? "";
  if (!TENANT_ID_PATTERN.test(tenant)) return null;
  return s.session.role !== "tenant" || s.session.tenant === tenant ? tenant : null;
}

export const consoleRoutes = new Hono<AppEnv>()
  .use(securityHeaders())
  .get("/assets/console.css", (c) => c.body(CONSOLE_CSS, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=3600" }))
  .get("/assets/console.js", (c) => c.body(CONSOLE_JS, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=3600" }))
  .get("/", async (c) => {
    const s = await signedIn(c);
    if (!s || !(await s.holds)) return signInRedirect(c);
    return c.redirect(home(s.session), 303);
  })
  .get("/sign-in", async (c) => {
    const s = await signedIn(c);
    if (s && (await s.holds)) return c.redirect(home(s.session), 303);
    const nonce = newSessionId();
    setCookie(c, SIGN_IN_COOKIE, nonce, { ...cookieOptions, maxAge: SIGN_IN_TTL_S });
    const csrf = await signInToken(await sessionKeyOf(c), nonce);
    return html(
      c,
      <Layout title="Sign in" session={null} csrf="">
        <SignInForm csrf={csrf} error={null} />
      </Layout>,
    );
  })
  .post("/sign-in", async (c) => {
    if (!sameOrigin(c.req.raw)) return refusal(c, null, 403, "Refused: this form was not sent from the console's own site.");
    const key = await sessionKeyOf(c);
    const nonce = getCookie(c, SIGN_IN_COOKIE);
    const form = await formOf(c);
    const expected = nonce && /^[0-9a-f]{32}$/.test(nonce) ? await signInToken(key, nonce) : null;
    if (!form || !expected || !(await tokenMatches(expected, form[CSRF_FIELD]))) {
      return refusal(c, null, 403, "Refused: the sign-in form expired or was not sent from here. Reload it and try again.");
    }
    const result = await signIn(c, (form.token ?? "").trim(), Date.now());
    if (!result.ok) {
      const f = result.failure;
      if (f.kind === "throttled") c.header("retry-after", String(f.retryAfterSeconds));
      const error = f.kind === "throttled" ? `Too many failed sign-ins from your address: try again in ${f.retryAfterSeconds} s.` : "That token or key is not valid.";
      return html(
        c,
        <Layout title="Sign in" session={null} csrf="">
          <SignInForm csrf={expected} error={error} />
        </Layout>,
        f.status,
      );
    }
    deleteCookie(c, SIGN_IN_COOKIE, cookieOptions);
    setCookie(c, SESSION_COOKIE, await signSession(key, result.session), { ...cookieOptions, maxAge: SESSION_TTL_MS / 1000 });
    return c.redirect(home(result.session), 303);
  })
  .post("/sign-out", async (c) => {
    if (!sameOrigin(c.req.raw)) return refusal(c, null, 403, "Refused: this form was not sent from the console's own site.");
    const s = await signedIn(c);
    const form = await formOf(c);
    // A forged sign-out would only sign the victim out; it is refused all the same.
    if (s && (!form || !(await tokenMatches(s.csrf, form[CSRF_FIELD])))) return refusal(c, s, 403, "Refused: the form's CSRF token is missing or wrong.");
    return signInRedirect(c);
  })
  .get(
    "/overview",
    page({ roles: OPERATORS, title: "Overview", active: "overview" }, (p, c) => {
      const w = c.req.query("window");
      return overviewPage(p, WINDOWS.some((x) => x.id === w) ? (w as WindowId) : "1d");
    }),
  )
  .get("/origins", page({ roles: OPERATORS, title: "Origins", active: "origins", refresh: 15 }, (p) => originsPage(p)))
  .get("/scenarios", page({ roles: OPERATORS, title: "Scenarios", active: "scenarios" }, (p) => scenariosPage(p)))
  .get(
    "/scenarios/:scenario",
    page({ roles: OPERATORS, title: (c) => `Scenario ${c.req.param("scenario") ?? ""}`, active: "scenarios" }, (p, c) => scenarioPage(p, c.req.param("scenario")!)),
  )
  .post(
    "/scenarios/:scenario/canary/:change{stop|resume}",
    action(ADMIN_ONLY, async (c, s, form) => {
      const name = c.req.param("scenario")!;
      const stop = c.req.param("change") === "stop";
      const path = `/admin/scenarios/${encodeURIComponent(name)}/canary-stop`;
      const reason = (form.reason ?? "").trim();
      const answer = stop ? await s.api.call("POST", path, reason ? { reason } : {}) : await s.api.call("DELETE", path);
      if (!answer.ok) {
        return renderPage(c, s, { roles: ADMIN_ONLY, title: `Scenario ${name}`, active: "scenarios" }, (p) => scenarioPage(p, name), { notice: { kind: "error", text: answer.message }, status: answer.status });
      }
      return c.redirect(`/console/scenarios/${encodeURIComponent(name)}?notice=${stop ? "canary-stopped" : "canary-resumed"}`, 303);
    }),
  )
  .get(
    "/tenants",
    page({ roles: OPERATORS, title: "Tenants", active: "tenants" }, (p, c) => tenantsPage(p, { search: c.req.query("search")?.slice(0, 64), after: c.req.query("after")?.slice(0, 64) })),
  )
  .post(
    "/tenants",
    action(ADMIN_ONLY, async (c, s, form) => {
      const id = (form.id ?? "").trim();
      const name = (form.name ?? "").trim();
      const answer = await s.api.call("POST", "/admin/tenants", { id, ...(name ? { name } : {}) });
      if (!answer.ok) {
        return renderPage(c, s, { roles: ADMIN_ONLY, title: "Tenants", active: "tenants" }, (p) => tenantsPage(p, {}), { notice: { kind: "error", text: answer.message }, status: answer.status });
      }
      return c.redirect(`/console/tenants/${id}?notice=tenant-created`, 303);
    }),
  )
  .get("/tenants/:tenant", async (c) => {
    const s = await signedIn(c);
    if (!s) return signInRedirect(c);
    const tenant = pathTenant(c, s);
    if (tenant === null) return refusal(c, s, 404, "No such page.");
    return renderPage(c, s, { ...TENANT_PAGE, active: s.session.role === "tenant" ? "tenant" : "tenants" }, (p) => tenantPage(p, tenant, { group: usageGroup(c) }));
  })
  .get("/tenants/:tenant/usage.csv", async (c) => {
    const s = await signedIn(c);
    if (!s) return signInRedirect(c);
    const tenant = pathTenant(c, s);
    if (tenant === null) return refusal(c, s, 404, "No such page.");
    if (!(await s.holds)) return signInRedirect(c);
    const from = isolateOf(c.env).clock.now() - 30 * 86_400_000;
    const res = await s.api.fetch("GET", `/admin/tenants/${tenant}/usage?format=csv&from=${from}`);
    if (!res.ok) return refusal(c, s, res.status, "No such tenant.");
    return new Response(res.body, { headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="usage-${tenant}.csv"` } });
  })
  .post(
    "/tenants/:tenant/keys",
    tenantChange(
      (c, s, form, tenant) => {
        const days = intField(form.expiresInDays);
        const limits = { rpm: intField(form.rpm), tpm: intField(form.tpm) };
        const body = {
          ...(form.name?.trim() ? { name: form.name.trim() } : {}),
          ...(days === null ? {} : { expiresAt: isolateOf(c.env).clock.now() + days * 86_400_000 }),
          ...(limits.rpm === null && limits.tpm === null ? {} : { limits }),
        };
        return s.api.call<IssuedKey>("POST", `/admin/tenants/${tenant}/keys`, body);
      },
      { secret: "created" },
    ),
  )
  .post(
    "/tenants/:tenant/keys/:keyId/revoke",
    tenantChange((c, s, _form, tenant) => s.api.call("DELETE", `/admin/tenants/${tenant}/keys/${encodeURIComponent(c.req.param("keyId")!)}`), { notice: "key-revoked" }),
  )
  .post(
    "/tenants/:tenant/keys/:keyId/rotate",
    tenantChange(
      (c, s, form, tenant) => {
        const grace = intField(form.graceSeconds);
        return s.api.call<IssuedKey>("POST", `/admin/tenants/${tenant}/keys/${encodeURIComponent(c.req.param("keyId")!)}/rotate`, grace === null ? {} : { graceSeconds: grace });
      },
      { secret: "rotated" },
    ),
  )
  .post("/tenants/:tenant/limits", tenantChange((_c, s, form, tenant) => s.api.call("PUT", `/admin/tenants/${tenant}/limits`, limitsOf(form)), { notice: "limits-set" }))
  .post(
    "/tenants/:tenant/budgets",
    tenantChange(
      (_c, s, form, tenant) => {
        const metric = form.metric ?? "";
        const soft = amountOf(form.softLimit, metric);
        const body = { metric, period: form.period ?? "", limit: amountOf(form.limit, metric), ...(soft === null ? {} : { softLimit: soft }), ...(form.key ? { key: form.key } : {}) };
        return s.api.call("POST", `/admin/tenants/${tenant}/budgets`, body);
      },
      { notice: "budget-added" },
    ),
  )
  .post("/tenants/:tenant/disable", tenantChange((_c, s, _form, tenant) => s.api.call("POST", `/admin/tenants/${tenant}/disable`, {}), { notice: "tenant-disabled" }))
  .post("/tenants/:tenant/enable", tenantChange((_c, s, _form, tenant) => s.api.call("POST", `/admin/tenants/${tenant}/enable`, {}), { notice: "tenant-enabled" }))
  .get(
    "/config",
    page({ roles: OPERATORS, title: "Config", active: "config" }, (p, c) => {
      const n = (v: string | undefined) => (v && /^\d{1,9}$/.test(v) && Number(v) >= 1 ? Number(v) : undefined);
      return configPage(p, { from: n(c.req.query("from")), to: n(c.req.query("to")) });
    }),
  )
  .post(
    "/config/rollback",
    action(ADMIN_ONLY, async (c, s, form) => {
      const answer = await s.api.call("POST", "/admin/config/rollback", { version: intField(form.version) });
      if (!answer.ok) {
        return renderPage(c, s, { roles: ADMIN_ONLY, title: "Config", active: "config" }, (p) => configPage(p, {}), { notice: { kind: "error", text: answer.message }, status: answer.status });
      }
      return c.redirect("/console/config?notice=rolled-back", 303);
    }),
  )
  .all("*", async (c) => refusal(c, await signedIn(c), 404, "No such page."));
