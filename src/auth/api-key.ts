/**
 * Tenant API keys: `tr-<tenant>-<secret>`.
 *
 * The key names its tenant so the Worker knows which ledger object to ask without a lookup
 * (DESIGN §2). The ledger stores only a salted SHA-256 of the whole key and compares in
 * constant time; the secret part is 192 random bits, base64url.
 */

const KEY_PATTERN = /^tr-([a-z0-9][a-z0-9_]{0,39})-([A-Za-z0-9_-]{1,128})$/;

/** Tenant ids: lower-case letters, digits and '_' (no '-', which delimits the key). */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_]{0,39}$/;

/** The tenant a key claims to belong to, or null when the key is not of our format. */
export function tenantOfKey(key: string): string | null {
  const match = KEY_PATTERN.exec(key);
  return match ? match[1]! : null;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A fresh key for a tenant. */
export function generateKey(tenantId: string): string {
  return `tr-${tenantId}-${base64url(crypto.getRandomValues(new Uint8Array(24)))}`;
}

/** A random salt or id, hex. */
export function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA-256(salt ‖ key): what the ledger stores instead of the key. */
export async function hashKey(salt: string, key: string): Promise<Uint8Array> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${salt}:${key}`));
  return new Uint8Array(digest);
}

/** The indexed lookup column: the hash's first 8 bytes, hex; the full hash is then compared in constant time. */
export function lookupOf(hash: Uint8Array): string {
  return [...hash.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Constant-time equality of two byte strings (workerd's `crypto.subtle.timingSafeEqual`). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b);
}

/** Shown in key listings instead of the key: enough to tell keys apart, never enough to use one. */
export function keyHint(key: string): string {
  const tenant = tenantOfKey(key) ?? "";
  return `tr-${tenant}-…${key.slice(-4)}`;
}
