/**
 * The console's pure security pieces: signed sessions (a MAC over the payload, checked before the
 * payload is read; expiry), CSRF tokens and the same-origin check, which calls a session may make
 * (`mayCall`), and how a number's binding names its place in an API answer.
 */
import { describe, expect, it } from "vitest";
import { mayCall } from "../../src/console/admin-client";
import { fieldValue, sameValue } from "../../src/console/bound-values";
import { csrfToken, sameOrigin, signInToken, tokenMatches } from "../../src/console/csrf";
import { deriveSessionKey, signSession, verifySession, type Session } from "../../src/console/session";

const NOW = 1_000_000_000_000;

async function keyOf(secret: string): Promise<CryptoKey> {
  const signing = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return deriveSessionKey(signing);
}

const session: Session = { sid: "0123456789abcdef0123456789abcdef", role: "admin", tenant: null, keyId: null, hint: null, fp: "3f9c01ab", bind: "b1nd", iat: NOW, exp: NOW + 3_600_000 };

function base64url(text: string): string {
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

describe("signed sessions", () => {
  it("verify as signed, until they expire", async () => {
    const key = await keyOf("deployment-secret");
    const cookie = await signSession(key, session);
    expect(cookie).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(await verifySession(key, cookie, NOW)).toEqual(session);
    expect(await verifySession(key, cookie, session.exp - 1)).toEqual(session);
    expect(await verifySession(key, cookie, session.exp)).toBeNull();
  });

  it("are refused when signed under another deployment's key", async () => {
    const cookie = await signSession(await keyOf("deployment-secret"), session);
    expect(await verifySession(await keyOf("another-deployment"), cookie, NOW)).toBeNull();
  });

  it("are refused when any part is changed: the role, the expiry, the MAC, the version", async () => {
    const key = await keyOf("deployment-secret");
    const cookie = await signSession(key, session);
    const [, payload, mac] = cookie.split(".") as [string, string, string];
    const promoted = base64url(JSON.stringify({ ...session, role: "admin", exp: NOW * 2 }));
    const asTenant = base64url(JSON.stringify({ ...session, role: "tenant", tenant: "other" }));
    for (const forged of [`v1.${promoted}.${mac}`, `v1.${asTenant}.${mac}`, `v1.${payload}.${mac.slice(0, -1)}A`, `v2.${payload}.${mac}`, `v1.${payload}`, `v1.${payload}.${mac}.x`, "", "v1..", "x".repeat(5000)]) {
      expect(await verifySession(key, forged, NOW), forged.slice(0, 40)).toBeNull();
    }
  });

  it("are refused when the signed payload is not a session (the schema is strict)", async () => {
    const key = await keyOf("deployment-secret");
    const { mac } = await import("../../src/console/session");
    for (const body of [{ ...session, extra: 1 }, { ...session, role: "root" }, { ...session, sid: "short" }, "not an object", null]) {
      const payload = base64url(JSON.stringify(body));
      expect(await verifySession(key, `v1.${payload}.${await mac(key, "session", payload)}`, NOW)).toBeNull();
    }
    const notJson = base64url("{not json");
    expect(await verifySession(key, `v1.${notJson}.${await mac(key, "session", notJson)}`, NOW)).toBeNull();
  });
});

describe("CSRF", () => {
  it("a session's token is its own: another session's, or the sign-in form's, does not match", async () => {
    const key = await keyOf("deployment-secret");
    const token = await csrfToken(key, session.sid);
    expect(await tokenMatches(token, token)).toBe(true);
    expect(await tokenMatches(token, await csrfToken(key, "ffffffffffffffffffffffffffffffff"))).toBe(false);
    expect(await tokenMatches(token, await signInToken(key, session.sid))).toBe(false);
    expect(await tokenMatches(token, await csrfToken(await keyOf("another-deployment"), session.sid))).toBe(false);
    for (const given of [undefined, "", token.slice(1), 42]) expect(await tokenMatches(token, given)).toBe(false);
  });

  it("a POST is from this site only when Origin names this host and Sec-Fetch-Site, if sent, says same-origin", () => {
    const post = (headers: Record<string, string>) => new Request("https://router.example/console/tenants", { method: "POST", headers });
    expect(sameOrigin(post({ origin: "https://router.example", "sec-fetch-site": "same-origin" }))).toBe(true);
    // Behind a proxy that ends TLS the Worker sees http: the host decides, not the scheme.
    expect(sameOrigin(post({ origin: "http://router.example" }))).toBe(true);
    expect(sameOrigin(post({}))).toBe(false);
    expect(sameOrigin(post({ origin: "null" }))).toBe(false);
    expect(sameOrigin(post({ origin: "https://evil.example" }))).toBe(false);
    expect(sameOrigin(post({ origin: "https://router.example.evil.example" }))).toBe(false);
    expect(sameOrigin(post({ origin: "https://router.example:8443" }))).toBe(false);
    expect(sameOrigin(post({ origin: "not a url" }))).toBe(false);
    for (const site of ["cross-site", "same-site", "none"]) expect(sameOrigin(post({ origin: "https://router.example", "sec-fetch-site": site })), site).toBe(false);
  });
});

describe("what a session may call (the in-process admin client's own check)", () => {
  it("admin: anything; read: GETs only; tenant: GETs of its own tenant's paths only", () => {
    const admin = { role: "admin", tenant: null } as const;
    const read = { role: "read", tenant: null } as const;
    const tenant = { role: "tenant", tenant: "acme" } as const;
    expect(mayCall(admin, "DELETE", "/admin/tenants/acme")).toBe(true);
    expect(mayCall(read, "GET", "/admin/usage/summary")).toBe(true);
    expect(mayCall(read, "POST", "/admin/tenants")).toBe(false);
    for (const path of ["/admin/tenants/acme", "/admin/tenants/acme/keys", "/admin/tenants/acme/keys/key_1", "/admin/tenants/acme/budgets", "/admin/tenants/acme/usage?limit=20", "/admin/tenants/acme/usage/summary?group_by=day"]) {
      expect(mayCall(tenant, "GET", path), path).toBe(true);
    }
    for (const [method, path] of [
      ["POST", "/admin/tenants/acme/keys"],
      ["GET", "/admin/tenants/acme2"],
      ["GET", "/admin/tenants/acme2/keys"],
      ["GET", "/admin/tenants/other/usage"],
      ["GET", "/admin/tenants"],
      ["GET", "/admin/usage/summary"],
      ["GET", "/admin/origins"],
      ["GET", "/admin/config"],
      ["GET", "/admin/audit?tenant=acme"],
      ["GET", "/admin/tenants/acme/../other"],
      ["GET", "/admin/tenants/acme/keys/key_1/rotate"],
    ] as const) {
      expect(mayCall(tenant, method, path), `${method} ${path}`).toBe(false);
    }
    expect(mayCall({ role: "tenant", tenant: null }, "GET", "/admin/tenants/null")).toBe(false);
  });
});

describe("a number's binding", () => {
  const answer = { total: { requests: 3, errors: 1, costMicros: 40 }, data: [{ group: "acme", requests: 2, prefixCache: { "chat.v2": { hitRate: 0.5 } } }, { group: "b", requests: 1 }] };
  it("reads paths, array elements by a key, property names holding dots, sums and ratios", () => {
    expect(fieldValue(answer, "total.costMicros")).toBe(40);
    expect(fieldValue(answer, "data[group=acme].requests")).toBe(2);
    expect(fieldValue(answer, "data[group=acme].prefixCache[chat.v2].hitRate")).toBe(0.5);
    expect(fieldValue(answer, "total.requests+total.errors")).toBe(4);
    expect(fieldValue(answer, "total.errors/total.requests")).toBeCloseTo(1 / 3, 12);
    expect(fieldValue(answer, "data[group=b].errors/data[group=b].requests")).toBeNaN();
    expect(fieldValue({ a: 1, b: 0 }, "a/b")).toBe(0);
    expect(fieldValue(answer, "data[group=none].requests")).toBeUndefined();
    expect(sameValue("0.3333333333333333", fieldValue(answer, "total.errors/total.requests"))).toBe(true);
    expect(sameValue("2", 3)).toBe(false);
    expect(sameValue("closed", "closed")).toBe(true);
  });
});
