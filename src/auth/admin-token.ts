/**
 * The admin API's two tokens (issue #16): `ADMIN_TOKEN` may do everything, `ADMIN_READ_TOKEN`
 * (optional) may only read, for dashboards and monitoring. Neither has a default: an unset token
 * matches nothing.
 *
 * A change is recorded in the audit log under its token's fingerprint: the first 8 hex digits of an
 * HMAC of the token under the deployment's signing secret (the TenantDirectory's). Keyed, not a
 * plain SHA-256: whoever reads the log (the read token may) could otherwise test guesses of a weak
 * admin token offline against it. `GET /admin/whoami` tells an operator their own token's.
 */

export type AdminTokenKind = "admin" | "read";

/** The caller of an admin route, once its token matched. */
export interface AdminCaller {
  kind: AdminTokenKind;
  /** The token's fingerprint (computed on first use: it needs the signing secret). */
  fingerprint: () => Promise<string>;
}

async function digest(value: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)));
}

async function matches(presented: Uint8Array, expected: string | undefined): Promise<boolean> {
  // Comparing digests keeps the comparison constant-time whatever the lengths.
  return expected !== undefined && expected !== "" && crypto.subtle.timingSafeEqual(presented, await digest(expected));
}

/**
 * Which admin token `presented` is, or null. The full token wins when both are set to the same
 * value (a misconfiguration, but not one that should lock the operator out).
 */
export async function adminTokenKind(presented: string, tokens: { admin?: string; read?: string }): Promise<AdminTokenKind | null> {
  const mine = await digest(presented);
  const [admin, read] = [await matches(mine, tokens.admin), await matches(mine, tokens.read)];
  return admin ? "admin" : read ? "read" : null;
}

/**
 * A token's fingerprint: 8 hex digits that tell tokens apart in the audit log and reveal nothing
 * of them without the signing secret.
 * @example
 * await tokenFingerprint(signingKey, env.ADMIN_TOKEN) // "3f9c01ab"
 */
export async function tokenFingerprint(signingKey: CryptoKey, token: string): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", signingKey, new TextEncoder().encode(`admin-token\u0000${token}`)));
  return [...mac.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
