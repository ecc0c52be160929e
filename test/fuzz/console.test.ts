/**
 * Fuzzing the console (`/console/...`): its pages and forms with every method, odd path segments
 * and queries, form bodies of any shape and size, and sessions that are missing, junk, forged,
 * read-only, a tenant's or the admin's (with the session's CSRF token or not). The console answers
 * in HTML, not OpenAI's JSON, so its invariants are its own: below 500, our request id and the CSP
 * on every answer, and no change made without the admin's session, this site's Origin and its token.
 */
import { SELF } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { CONTENT_SECURITY_POLICY } from "../../src/console/security-headers";
import { adminFetch, newTenant } from "../support/client";
import { ADMIN_READ_TOKEN, ADMIN_TOKEN } from "../support/router-config";
import { Browser, csrfOf } from "../console/support";
import { anyText, headerText, pathSegment, queryString, urlPart } from "./arbitraries";
import { BASE, countStatuses, fuzz, type FuzzRequest } from "./support";

/** The console's routes (src/console/routes.tsx), their parameters filled by `t` (a tenant) and `fill`. */
function routes(t: string, fill: string): string[] {
  return [
    "/console",
    "/console/sign-in",
    "/console/sign-out",
    "/console/overview",
    "/console/origins",
    "/console/scenarios",
    `/console/scenarios/${fill}`,
    `/console/scenarios/${fill}/canary/stop`,
    `/console/scenarios/${fill}/canary/resume`,
    "/console/tenants",
    `/console/tenants/${fill}`,
    `/console/tenants/${t}`,
    `/console/tenants/${t}/usage.csv`,
    `/console/tenants/${fill}/usage.csv`,
    `/console/tenants/${t}/keys`,
    `/console/tenants/${t}/keys/${fill}/revoke`,
    `/console/tenants/${t}/keys/${fill}/rotate`,
    `/console/tenants/${t}/limits`,
    `/console/tenants/${t}/budgets`,
    `/console/tenants/${fill}/disable`,
    "/console/config",
    `/console/${fill}`,
    "/console/assets/console.css",
    "/console/assets/console.js",
  ];
}

/** Form fields the console's forms read, and others, with any values. */
const formBody = fc.oneof(
  fc
    .array(fc.tuple(fc.constantFrom("_csrf", "token", "id", "name", "rpm", "tpm", "concurrency", "metric", "period", "limit", "softLimit", "key", "graceSeconds", "expiresInDays", "reason", "x", "__proto__"), anyText), { maxLength: 6 })
    .map((pairs) => pairs.map(([k, v]) => `${k}=${urlPart(v)}`).join("&")),
  fc.constantFrom("", "=", "&&&", "%ZZ=%ZZ", "_csrf", `id=${"a".repeat(20_000)}`, '{"id":"json"}'),
);

type Who = "none" | "junk" | "forged" | "read" | "tenant" | "admin";

let t = "";
const sessions = new Map<Who, Browser>();
const csrfs = new Map<Who, string>();

beforeAll(async () => {
  const tenant = await newTenant();
  t = tenant.tenantId;
  for (const [who, token] of [["read", ADMIN_READ_TOKEN], ["tenant", tenant.key], ["admin", ADMIN_TOKEN]] as const) {
    const b = new Browser();
    expect((await b.signIn(token)).status).toBe(303);
    sessions.set(who, b);
    csrfs.set(who, csrfOf(await (await b.get(who === "tenant" ? `/console/tenants/${t}` : "/console/overview")).text()));
  }
});

const request = fc.record({
  method: fc.oneof({ weight: 3, arbitrary: fc.constant("GET") }, { weight: 4, arbitrary: fc.constant("POST") }, { weight: 1, arbitrary: fc.constantFrom("HEAD", "PUT", "DELETE") }),
  route: fc.nat(),
  fill: pathSegment,
  query: fc.oneof({ weight: 3, arbitrary: fc.constant("") }, { weight: 1, arbitrary: queryString(["window", "by", "search", "after", "from", "to", "notice"]) }),
  who: fc.oneof({ weight: 3, arbitrary: fc.constant<Who>("admin") }, { weight: 5, arbitrary: fc.constantFrom<Who>("none", "junk", "forged", "read", "tenant") }),
  junk: headerText,
  withToken: fc.boolean(),
  origin: fc.oneof({ weight: 3, arbitrary: fc.constant(BASE) }, { weight: 1, arbitrary: fc.constantFrom("https://evil.example", "null", null) }),
  contentType: fc.oneof({ weight: 3, arbitrary: fc.constant("application/x-www-form-urlencoded") }, { weight: 1, arbitrary: fc.constantFrom("multipart/form-data; boundary=x", "text/plain", "application/json") }),
  body: formBody,
});

describe("fuzz: the console's pages and forms", () => {
  it("answers 250 odd requests below 500 with the CSP, and changes nothing without the admin's session, site and token", async () => {
    const statuses = countStatuses();
    const newest = ((await (await adminFetch("/audit?limit=1")).json()) as { data: Array<{ id: number }> }).data[0]?.id ?? 0;
    let changesAllowed = 0;
    await fuzz(request, 250, async (r) => {
      const all = routes(t, r.fill);
      const path = all[r.route % all.length]! + r.query;
      const headers: Record<string, string> = {};
      const session = sessions.get(r.who);
      if (session) headers.cookie = [...session.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
      if (r.who === "junk") headers.cookie = `__Host-tr_console=${r.junk}`;
      if (r.who === "forged") headers.cookie = `__Host-tr_console=v1.${btoa(JSON.stringify({ role: "admin" }))}.AAAA`;
      const post = r.method !== "GET" && r.method !== "HEAD";
      let body = r.body;
      if (post && r.withToken && csrfs.has(r.who)) body = `_csrf=${csrfs.get(r.who)}&${body}`;
      if (post) {
        headers["content-type"] = r.contentType;
        if (r.origin !== null) headers.origin = r.origin;
      }
      // The admin's own changes, made as the console allows them (a rollback could change every other test's config: not fuzzed).
      const mayChange = r.who === "admin" && r.method === "POST" && r.withToken && r.origin === BASE && r.contentType.startsWith("application/x-www-form-urlencoded");
      if (mayChange && path.includes("/config/rollback")) return;
      if (mayChange) changesAllowed++;
      const req: FuzzRequest = { method: r.method, path, headers, ...(post ? { body } : {}) };
      const res = await SELF.fetch(`${BASE}${req.path}`, { method: req.method, headers: req.headers, body: req.body ?? null, redirect: "manual" });
      const text = new TextDecoder().decode(await res.arrayBuffer());
      const where = `${req.method} ${path.slice(0, 120)} as ${r.who}`;
      expect(res.status, `${where} → ${res.status} ${text.slice(0, 300)}`).toBeLessThan(500);
      expect(res.headers.get("x-request-id"), where).toMatch(/^req_[0-9a-f]{32}$/);
      expect(res.headers.get("content-security-policy"), where).toBe(CONTENT_SECURITY_POLICY);
      statuses.add(res.status);
    });
    // Nothing reached the audit log but what the admin's session may do.
    const audit = ((await (await adminFetch(`/audit?after=${newest}&limit=200`)).json()) as { data: Array<{ actor: { token: string } }> }).data;
    expect(audit.length).toBeLessThanOrEqual(changesAllowed);
    expect(audit.filter((row) => row.actor.token !== "admin")).toEqual([]);
    // The run reached every kind of answer (seeded: 25 pages, 37 redirects to sign in, 44 refusals, 144 unknown pages or tenants).
    expect(statuses.of(200)).toBeGreaterThan(10);
    expect(statuses.of(303)).toBeGreaterThan(15);
    expect(statuses.of(403)).toBeGreaterThan(20);
    expect(statuses.of(404)).toBeGreaterThan(20);
  });
});
