/**
 * The console's session: who signed in, as what, until when, signed by the deployment. The cookie
 * holds this and never the token or key itself:
 *
 *   v1.<payload: base64url JSON>.<mac: base64url HMAC-SHA-256(payload), 32 bytes>
 *
 * The MAC key is derived from the deployment's signing secret (the TenantDirectory's, which also
 * signs tenant keys) under its own label, so a session MAC can never stand for a key's MAC or the
 * reverse. A session is only as good as the credential behind it: `bind` ties an operator session
 * to the admin token it signed in with (a changed token ends it), and a tenant session is checked
 * against its key and tenant on every page (`session-check.ts`).
 */
import { z } from "zod";

/** Who a session is. `read`: the read-only admin token; `tenant`: one of a tenant's keys. */
export const SESSION_ROLES = ["admin", "read", "tenant"] as const;
export type SessionRole = (typeof SESSION_ROLES)[number];

/** How long a session lasts from sign-in. */
export const SESSION_TTL_MS = 8 * 3_600_000;

const payloadSchema = z
  .object({
    /** Random id: the CSRF token is derived from it. */
    sid: z.string().regex(/^[0-9a-f]{32}$/),
    role: z.enum(SESSION_ROLES),
    /** Tenant sessions: the tenant and the key that signed in, and the key's hint when it did. */
    tenant: z.string().max(40).nullable(),
    keyId: z.string().max(64).nullable(),
    hint: z.string().max(80).nullable(),
    /**
     * Operator sessions: the admin token's audit fingerprint (what the audit log records for the
     * changes made in the session, as for the API); tenant sessions: the key's hint.
     */
    fp: z.string().max(80),
    /** Operator sessions: a MAC of the token under the session key; a changed token no longer matches. */
    bind: z.string().max(64).nullable(),
    iat: z.number().int().min(0),
    exp: z.number().int().min(0),
  })
  .strict();

export type Session = z.infer<typeof payloadSchema>;

const encoder = new TextEncoder();

export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

/**
 * The console's MAC key, derived from the deployment's key-signing key under the label
 * `console-session-v1` (so it is the deployment's, survives restarts, and differs from it).
 */
export async function deriveSessionKey(signingKey: CryptoKey): Promise<CryptoKey> {
  const raw = await crypto.subtle.sign("HMAC", signingKey, encoder.encode("console-session-v1"));
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/** HMAC-SHA-256 of `label \0 value` under the session key, base64url, cut to `bytes`. */
export async function mac(key: CryptoKey, label: string, value: string, bytes = 32): Promise<string> {
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`${label}\u0000${value}`)));
  return base64url(sig.subarray(0, bytes));
}

/** Constant-time equality of two strings (compared as their SHA-256 digests, whatever their lengths). */
export async function sameText(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([crypto.subtle.digest("SHA-256", encoder.encode(a)), crypto.subtle.digest("SHA-256", encoder.encode(b))]);
  return crypto.subtle.timingSafeEqual(da, db);
}

/** A token's binding: what an operator session keeps of the admin token it signed in with. */
export function tokenBinding(key: CryptoKey, token: string): Promise<string> {
  return mac(key, "token", token, 16);
}

/** A fresh random session id. */
export function newSessionId(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The cookie value of a session.
 * @example
 * await signSession(key, { sid, role: "admin", tenant: null, keyId: null, hint: null, fp: "3f9c01ab", bind, iat, exp })
 * // "v1.eyJzaWQiOi….Qm9…"
 */
export async function signSession(key: CryptoKey, session: Session): Promise<string> {
  const payload = base64url(encoder.encode(JSON.stringify(session)));
  return `v1.${payload}.${await mac(key, "session", payload)}`;
}

/**
 * The session a cookie value holds, or null: not ours (format, MAC), or expired at `now`.
 * The MAC is checked before anything of the payload is read.
 */
export async function verifySession(key: CryptoKey, value: string | undefined, now: number): Promise<Session | null> {
  if (!value || value.length > 2048) return null;
  const parts = value.split(".");
  if (parts.length !== 3 || parts[0] !== "v1") return null;
  const [, payload, given] = parts as [string, string, string];
  if (!(await sameText(given, await mac(key, "session", payload)))) return null;
  const bytes = fromBase64url(payload);
  if (!bytes) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
  const session = payloadSchema.safeParse(parsed);
  if (!session.success || session.data.exp <= now) return null;
  return session.data;
}
