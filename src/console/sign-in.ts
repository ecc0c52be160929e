/**
 * Signing in to the console, and checking on every page that the credential behind a session
 * still holds.
 *
 * - An operator signs in with `ADMIN_TOKEN` (role `admin`) or `ADMIN_READ_TOKEN` (role `read`),
 *   compared as the admin API compares them; a wrong token counts toward the admin API's failure
 *   limit (`auth/failure-limit.ts`), and an address past it is refused before its token is looked at.
 * - A tenant signs in with one of its keys (anything shaped `tr-…`), verified as `/v1` verifies a
 *   key: its MAC first, then its ledger (`verifiedCaller`), counting failures toward the key limit.
 * - An operator session ends when its token changes (its binding no longer matches) or is unset; a
 *   tenant session when its key is revoked, expires or is rotated past its grace, or its tenant is
 *   disabled or deleted: read through the admin API on each page, in parallel with the page's data.
 */
import type { Context } from "hono";
import { adminTokenKind, tokenFingerprint, type AdminTokenKind } from "../auth/admin-token";
import { keyHint, tenantOfKey } from "../auth/api-key";
import { clientAddress } from "../auth/failure-limit";
import type { AppEnv } from "../env";
import { isolateOf } from "../isolate";
import type { ApiKeyInfo, Tenant } from "../ledger/types";
import { RouterError } from "../openai/errors";
import { verifiedCaller } from "../request/authenticate";
import { requestContext } from "../request/context";
import type { AdminClient } from "./admin-client";
import { deriveSessionKey, newSessionId, SESSION_TTL_MS, tokenBinding, sameText, type Session } from "./session";

const sessionKeys = new WeakMap<CryptoKey, Promise<CryptoKey>>();

/** The console's session key in this isolate (derived once from the deployment's signing key). */
export async function sessionKeyOf(c: Context<AppEnv>): Promise<CryptoKey> {
  const signing = await isolateOf(c.env).keys.signingKey();
  let key = sessionKeys.get(signing);
  if (!key) sessionKeys.set(signing, (key = deriveSessionKey(signing)));
  return key;
}

/** Why a sign-in failed, as the sign-in page says it (never which kind of credential was close). */
export type SignInFailure = { kind: "wrong"; status: 401 } | { kind: "throttled"; status: 429; retryAfterSeconds: number };

export type SignInResult = { ok: true; session: Session } | { ok: false; failure: SignInFailure };

function tokenOf(env: AppEnv["Bindings"], kind: AdminTokenKind): string | undefined {
  return kind === "admin" ? env.ADMIN_TOKEN : env.ADMIN_READ_TOKEN;
}

/** Checks a presented credential and makes the session it earns (see the module comment). */
export async function signIn(c: Context<AppEnv>, presented: string, now: number): Promise<SignInResult> {
  const key = await sessionKeyOf(c);
  const base = { sid: newSessionId(), iat: now, exp: now + SESSION_TTL_MS };
  if (tenantOfKey(presented) !== null) return signInWithKey(c, presented, base);
  const isolate = isolateOf(c.env);
  const address = clientAddress(c.req.raw, isolate.config.security.clientAddressHeader);
  const wait = isolate.adminFailures.retryAfterSeconds(address, Date.now());
  if (wait > 0) return { ok: false, failure: { kind: "throttled", status: 429, retryAfterSeconds: wait } };
  const kind = presented ? await adminTokenKind(presented, { admin: c.env.ADMIN_TOKEN, read: c.env.ADMIN_READ_TOKEN }) : null;
  if (!kind) {
    isolate.adminFailures.fail(address, Date.now());
    return { ok: false, failure: { kind: "wrong", status: 401 } };
  }
  const fp = await tokenFingerprint(await isolate.keys.signingKey(), presented);
  return { ok: true, session: { ...base, role: kind, tenant: null, keyId: null, hint: null, fp, bind: await tokenBinding(key, presented) } };
}

/** A tenant key, verified as `/v1` verifies one (its failures counted toward the key limit). */
async function signInWithKey(c: Context<AppEnv>, presented: string, base: Pick<Session, "sid" | "iat" | "exp">): Promise<SignInResult> {
  const original = c.req.raw;
  const headers = new Headers(original.headers);
  headers.set("authorization", `Bearer ${presented}`);
  // The client's own request, with the key as `/v1` would receive it: the same address (`cf`,
  // headers) is charged for a failure.
  const request = new Request(original.url, { method: "GET", headers, ...(original.cf ? { cf: original.cf as RequestInitCfProperties } : {}) });
  try {
    const { admission } = await verifiedCaller({ ...requestContext(c), request });
    const hint = keyHint(presented);
    return { ok: true, session: { ...base, role: "tenant", tenant: admission.tenantId, keyId: admission.keyId, hint, fp: hint, bind: null } };
  } catch (e) {
    if (!(e instanceof RouterError)) throw e;
    const f = e.failure;
    if (f.kind === "too_many_auth_failures") return { ok: false, failure: { kind: "throttled", status: 429, retryAfterSeconds: f.retryAfterSeconds } };
    if (f.kind === "invalid_api_key" || f.kind === "missing_api_key") return { ok: false, failure: { kind: "wrong", status: 401 } };
    throw e;
  }
}

/** Whether an operator session's token is still the one it signed in with. */
export async function operatorSessionHolds(c: Context<AppEnv>, session: Session): Promise<boolean> {
  if (session.role === "tenant" || session.bind === null) return false;
  const token = tokenOf(c.env, session.role);
  if (!token) return false;
  return sameText(await tokenBinding(await sessionKeyOf(c), token), session.bind);
}

/**
 * Whether a tenant session's key and tenant still hold at `now`: the tenant listed and enabled,
 * the key neither revoked nor expired, and the secret it signed in with still the key's, or the
 * one a rotation replaced while its grace lasts.
 */
export async function tenantSessionHolds(api: AdminClient, session: Session, now: number): Promise<boolean> {
  if (session.role !== "tenant" || !session.tenant || !session.keyId) return false;
  const base = `/admin/tenants/${session.tenant}`;
  const [tenant, key] = await Promise.all([api.get<Tenant>(base), api.get<ApiKeyInfo>(`${base}/keys/${encodeURIComponent(session.keyId)}`)]);
  if (!tenant.ok || !key.ok || tenant.data.disabled) return false;
  const k = key.data;
  if (k.revokedAt !== null || (k.expiresAt !== null && k.expiresAt <= now)) return false;
  if (k.hint === session.hint) return true;
  return k.previous !== null && k.previous.hint === session.hint && k.previous.expiresAt > now;
}
