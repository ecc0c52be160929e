/**
 * The console through `SELF.fetch`, as a browser would drive it (cookies, forms, Origin): its
 * security headers, signing in and out, the session cookie, who may see and do what, CSRF, and
 * numbers equal to the admin API's answers. The same in a real browser: `npm run test:console`.
 */
import { describe, expect, it } from "vitest";
import { fieldValue, sameValue } from "../../src/console/bound-values";
import { CONTENT_SECURITY_POLICY } from "../../src/console/security-headers";
import { adminFetch, chat, newTenant, settledAll } from "../support/client";
import { ADMIN_READ_TOKEN, ADMIN_TOKEN } from "../support/router-config";
import { BASE, boundValues, Browser, csrfOf, SESSION_COOKIE } from "./support";

async function signedIn(token: string): Promise<Browser> {
  const b = new Browser();
  const res = await b.signIn(token);
  expect(res.status, await res.clone().text()).toBe(303);
  return b;
}

/** The page's HTML after following a 303 (what a browser shows). */
async function follow(b: Browser, res: Response): Promise<{ status: number; path: string; html: string }> {
  expect(res.status).toBe(303);
  const path = res.headers.get("location")!;
  const page = await b.get(path);
  return { status: page.status, path, html: await page.text() };
}

describe("the console's headers", () => {
  it("every answer carries the CSP (no inline script or style) and the framing and sniffing guards", async () => {
    const b = await signedIn(ADMIN_TOKEN);
    const answers = [await b.get("/console/sign-in"), await b.get("/console/overview"), await b.get("/console/assets/console.js"), await b.get("/console/no/such/page"), await new Browser().get("/console/overview")];
    for (const res of answers) {
      expect(res.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
    expect(CONTENT_SECURITY_POLICY).toBe("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    expect(answers[1]!.headers.get("cache-control")).toBe("no-store");
    expect(answers[2]!.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(answers[3]!.status).toBe(404);
  });

  it("pages hold no inline script, style attribute or event handler, and load no other origin", async () => {
    const b = await signedIn(ADMIN_TOKEN);
    for (const path of ["/console/sign-in", "/console/overview", "/console/origins", "/console/scenarios", "/console/scenarios/chat-canary", "/console/tenants", "/console/config"]) {
      const html = await (await b.get(path)).text();
      expect(html.match(/<script(?![^>]*\ssrc=)[^>]*>/g), path).toBeNull();
      expect(html, path).not.toMatch(/\sstyle=|\son[a-z]+=/i);
      expect(html.match(/(?:src|href|action)="(?:https?:)?\/\/[^"]*"/g), path).toBeNull();
    }
  });
});

describe("signing in and out", () => {
  it("the admin token gives a session in an HttpOnly, Secure, SameSite=Strict __Host- cookie that holds no token", async () => {
    const b = new Browser();
    const res = await b.signIn(ADMIN_TOKEN);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/console/overview");
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`))!;
    expect(cookie).toMatch(/; Max-Age=28800; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
    const value = cookie.slice(SESSION_COOKIE.length + 1).split(";")[0]!;
    expect(atob(value.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))).not.toContain(ADMIN_TOKEN);
    const page = await b.get("/console/overview");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('id="role">admin<');
  });

  it("a wrong token, or a made-up key, is refused with 401 and no session", async () => {
    for (const wrong of ["not-the-token", "tr-nobody-made-up"]) {
      const b = new Browser();
      const res = await b.signIn(wrong);
      expect(res.status).toBe(401);
      expect(await res.text()).toContain("That token or key is not valid.");
      expect(b.cookies.has(SESSION_COOKIE)).toBe(false);
    }
  });

  it("the sign-in form without its token, or from another site, is refused before the token is looked at", async () => {
    const b = new Browser();
    const page = await (await b.get("/console/sign-in")).text();
    expect((await b.post("/console/sign-in", { token: ADMIN_TOKEN })).status).toBe(403);
    expect((await b.post("/console/sign-in", { _csrf: csrfOf(page), token: ADMIN_TOKEN }, { origin: "https://evil.example", "sec-fetch-site": "cross-site" })).status).toBe(403);
    // Another browser's sign-in form token is bound to that browser's nonce cookie.
    const other = new Browser();
    const otherPage = await (await other.get("/console/sign-in")).text();
    expect((await b.post("/console/sign-in", { _csrf: csrfOf(otherPage), token: ADMIN_TOKEN })).status).toBe(403);
    expect(b.cookies.has(SESSION_COOKIE)).toBe(false);
  });

  it("without a session, or with a forged one, every page sends the browser to sign in", async () => {
    const b = await signedIn(ADMIN_TOKEN);
    const [head, payload, mac] = b.cookies.get(SESSION_COOKIE)!.split(".") as [string, string, string];
    const forged = new Browser();
    forged.cookies.set(SESSION_COOKIE, `${head}.${payload}.${mac.slice(0, -2)}AA`);
    for (const path of ["/console", "/console/overview", "/console/tenants/demo", "/console/tenants/demo/usage.csv"]) {
      for (const who of [new Browser(), forged]) {
        const res = await who.get(path);
        expect(res.status, path).toBe(303);
        expect(res.headers.get("location")).toBe("/console/sign-in");
      }
    }
  });

  it("sign-out ends the session (with its CSRF token; without it, it is refused)", async () => {
    const b = await signedIn(ADMIN_TOKEN);
    const page = await (await b.get("/console/overview")).text();
    expect((await b.post("/console/sign-out", {})).status).toBe(403);
    const out = await b.post("/console/sign-out", { _csrf: csrfOf(page) });
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe("/console/sign-in");
    expect(b.cookies.has(SESSION_COOKIE)).toBe(false);
    expect((await b.get("/console/overview")).status).toBe(303);
  });
});

describe("who may see and do what", () => {
  it("the admin creates a tenant and a key from the console; the secret is shown once", async () => {
    const b = await signedIn(ADMIN_TOKEN);
    const csrf = csrfOf(await (await b.get("/console/tenants")).text());
    const id = `console_${Date.now().toString(36)}`;
    const created = await follow(b, await b.post("/console/tenants", { _csrf: csrf, id, name: "Console Inc." }));
    expect(created).toMatchObject({ status: 200, path: `/console/tenants/${id}?notice=tenant-created` });
    expect(created.html).toContain("Tenant created.");
    const key = await b.post(`/console/tenants/${id}/keys`, { _csrf: csrf, name: "ci", rpm: "60" });
    expect(key.status).toBe(201);
    const secret = /id="secret-value">(tr-[^<]+)</.exec(await key.text())![1]!;
    expect((await chat(secret, { model: "chat-main", messages: [{ role: "user", content: "hi" }] })).status).toBe(200);
    const keys = (await (await adminFetch(`/tenants/${id}/keys`)).json()) as { data: Array<{ name: string; limits: { rpm: number | null } }> };
    expect(keys.data.map((k) => [k.name, k.limits.rpm])).toEqual([["ci", 60]]);
    expect(await (await b.get(`/console/tenants/${id}`)).text()).not.toContain(secret);
  });

  it("a path's tenant must be a tenant id: a crafted one never reaches an admin path, a header or a page", async () => {
    const { tenantId } = await newTenant();
    const b = await signedIn(ADMIN_TOKEN);
    const csrf = csrfOf(await (await b.get("/console/tenants")).text());
    // Resolved by the admin API's URL, `x/../<tenant>` would be the tenant, under a name the link chose.
    for (const crafted of [`x%22%3Bfilename%3D%22evil.html%2F..%2F${tenantId}`, `zz%2F..%2F${tenantId}`, "UPPER", "a".repeat(41)]) {
      for (const path of [`/console/tenants/${crafted}`, `/console/tenants/${crafted}/usage.csv`]) {
        const res = await b.get(path);
        expect(res.status, path).toBe(404);
        expect(res.headers.get("content-disposition"), path).toBeNull();
      }
      expect((await b.post(`/console/tenants/${crafted}/disable`, { _csrf: csrf })).status).toBe(404);
    }
    expect(((await (await adminFetch(`/tenants/${tenantId}`)).json()) as { disabled: boolean }).disabled).toBe(false);
    expect((await b.get(`/console/tenants/${tenantId}/usage.csv`)).headers.get("content-disposition")).toBe(`attachment; filename="usage-${tenantId}.csv"`);
  });

  it("the read-only token sees the pages without their forms, and its posts change nothing", async () => {
    const { tenantId } = await newTenant();
    const b = await signedIn(ADMIN_READ_TOKEN);
    for (const path of ["/console/overview", "/console/origins", "/console/scenarios", "/console/tenants", `/console/tenants/${tenantId}`, "/console/config"]) {
      const res = await b.get(path);
      expect(res.status, path).toBe(200);
      expect((await res.text()).match(/<form method="post" action="([^"]+)"/g), path).toEqual(['<form method="post" action="/console/sign-out"']);
    }
    const csrf = csrfOf(await (await b.get("/console/overview")).text());
    for (const path of ["/console/tenants", `/console/tenants/${tenantId}/keys`, `/console/tenants/${tenantId}/disable`, "/console/scenarios/chat-canary/canary/stop", "/console/config/rollback"]) {
      const res = await b.post(path, { _csrf: csrf, id: "read_only_try", version: "1" });
      expect(res.status, path).toBe(403);
      expect(await res.text()).toContain("the read-only token changes nothing");
    }
    expect((await adminFetch("/tenants/read_only_try")).status).toBe(404);
    expect(((await (await adminFetch(`/tenants/${tenantId}/keys`)).json()) as { data: unknown[] }).data).toHaveLength(1);
  });

  it("a tenant sees its own page and CSV and nothing else, by URL or by request", async () => {
    const mine = await newTenant();
    const other = await newTenant();
    const b = await signedIn(mine.key);
    expect((await b.get("/console")).headers.get("location")).toBe(`/console/tenants/${mine.tenantId}`);
    const own = await b.get(`/console/tenants/${mine.tenantId}`);
    expect(own.status).toBe(200);
    const html = await own.text();
    expect(html).toContain(`tenant ${mine.tenantId}`);
    expect(html.match(/<form method="post" action="([^"]+)"/g)).toEqual(['<form method="post" action="/console/sign-out"']);
    expect((await b.get(`/console/tenants/${mine.tenantId}/usage.csv`)).status).toBe(200);
    for (const [path, status] of [
      ["/console/overview", 403],
      ["/console/origins", 403],
      ["/console/scenarios/chat-main", 403],
      ["/console/tenants", 403],
      ["/console/config", 403],
      [`/console/tenants/${other.tenantId}`, 404],
      [`/console/tenants/${other.tenantId}/usage.csv`, 404],
      ["/console/tenants/no_such_tenant", 404],
    ] as const) {
      const res = await b.get(path);
      expect(res.status, path).toBe(status);
      expect(await res.text(), path).not.toContain(other.tenantId);
    }
    const csrf = csrfOf(html);
    for (const path of [`/console/tenants/${mine.tenantId}/keys`, `/console/tenants/${mine.tenantId}/limits`, `/console/tenants/${other.tenantId}/keys/${other.keyId}/revoke`, "/console/tenants", "/console/scenarios/chat-canary/canary/stop"]) {
      expect((await b.post(path, { _csrf: csrf, rpm: "1", id: "by_tenant" })).status, path).toBe(403);
    }
    const otherKeys = (await (await adminFetch(`/tenants/${other.tenantId}/keys`)).json()) as { data: Array<{ revokedAt: number | null }> };
    expect(otherKeys.data.map((k) => k.revokedAt)).toEqual([null]);
    // The session is not a credential for the APIs.
    expect((await b.get(`/admin/tenants/${mine.tenantId}`)).status).toBe(401);
    expect((await b.get("/v1/models")).status).toBe(401);
  });

  it("a tenant's session ends when its key is revoked", async () => {
    const t = await newTenant();
    const b = await signedIn(t.key);
    expect((await b.get(`/console/tenants/${t.tenantId}`)).status).toBe(200);
    expect((await adminFetch(`/tenants/${t.tenantId}/keys/${t.keyId}`, { method: "DELETE" })).status).toBe(200);
    const res = await b.get(`/console/tenants/${t.tenantId}`);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/console/sign-in");
    expect(b.cookies.has(SESSION_COOKIE)).toBe(false);
  });
});

describe("scenarios", () => {
  it("a scenario in migration shows its stage and the routing the stage derives (here: a shadow of the candidate)", async () => {
    const b = await signedIn(ADMIN_TOKEN);
    const html = await (await b.get("/console/scenarios/chat-migrating")).text();
    expect(html).toMatch(/<p id="migration">Migrating to <strong>mig-pool<\/strong> \(pool-model\): stage <span class="badge">discovery<\/span>, owner ml-platform@example.com/);
    expect(html).toMatch(/<section id="shadow">[\s\S]*100\.0 % of requests are copied to <strong>mig-pool<\/strong> \(pool-model\)/);
    const list = await (await b.get("/console/scenarios")).text();
    expect(list).toMatch(/chat-migrating[\s\S]*?<td>mig-pool 100\.0 %<\/td>/);
  });
});

describe("CSRF on every change", () => {
  it("a form without the session's token, with another session's, or from another site is refused, and nothing changes", async () => {
    const b = await signedIn(ADMIN_TOKEN);
    const otherSession = csrfOf(await (await (await signedIn(ADMIN_TOKEN)).get("/console/overview")).text());
    const csrf = csrfOf(await (await b.get("/console/overview")).text());
    const id = `csrf_${Date.now().toString(36)}`;
    const attempts: Array<[Record<string, string>, Record<string, string>]> = [
      [{ id }, {}],
      [{ id, _csrf: otherSession }, {}],
      [{ id, _csrf: csrf }, { origin: "https://evil.example", "sec-fetch-site": "cross-site" }],
      [{ id, _csrf: csrf }, { origin: BASE, "sec-fetch-site": "same-site" }],
      [{ id, _csrf: csrf }, { origin: "null" }],
    ];
    for (const [form, headers] of attempts) {
      const res = await b.post("/console/tenants", form, headers);
      expect(res.status, JSON.stringify([form, headers])).toBe(403);
    }
    // A client that sends no Origin at all.
    expect((await b.post("/console/tenants", { id, _csrf: csrf }, { origin: null, "sec-fetch-site": null })).status).toBe(403);
    expect((await adminFetch(`/tenants/${id}`)).status).toBe(404);
    expect((await b.post("/console/tenants", { id, _csrf: csrf })).status).toBe(303);
  });
});

describe("numbers", () => {
  it("every number the overview and a tenant's page show is the admin API's answer for the same path", async () => {
    const t = await newTenant();
    for (let i = 0; i < 3; i++) expect((await chat(t.key, { model: "chat-main", messages: [{ role: "user", content: `hello ${i}` }] })).status).toBe(200);
    await settledAll(t.tenantId);
    const b = await signedIn(ADMIN_TOKEN);
    for (const path of ["/console/overview?window=1h", `/console/tenants/${t.tenantId}`, `/console/tenants/${t.tenantId}?by=origin`]) {
      const bound = boundValues(await (await b.get(path)).text());
      expect(bound.length, path).toBeGreaterThan(8);
      const answers = new Map<string, unknown>();
      for (const api of new Set(bound.map((x) => x.api))) answers.set(api, await (await adminFetch(api.replace(/^\/admin/, ""))).json());
      const wrong = bound.filter((x) => !sameValue(x.value, fieldValue(answers.get(x.api), x.field)));
      expect(wrong, path).toEqual([]);
    }
    const tenantPage = boundValues(await (await b.get(`/console/tenants/${t.tenantId}`)).text());
    expect(tenantPage.find((x) => x.field === `data[group=${t.keyId}].requests`)?.value).toBe("3");
  });
});
