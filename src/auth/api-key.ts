/**
 * Tenant API keys: `tr-<tenant>-<secret>-<mac>`.
 *
 * - The key names its tenant so the Worker knows which ledger object to ask without a lookup
 *   (DESIGN §2). The ledger stores only a salted SHA-256 of the whole key and compares in
 *   constant time.
 * - `<secret>` is 192 random bits, base64url (32 characters).
 * - `<mac>` is HMAC-SHA-256 of `tr-<tenant>-<secret>` under the deployment's signing secret (kept
 *   by the TenantDirectory), its first 128 bits in hex. The Worker checks it before reaching any
 *   object, so a key the router did not issue is refused for the price of one HMAC, and never
 *   creates a tenant's storage (issue #12).
 *
 * Keys issued before the MAC (`tr-<tenant>-<secret>`, "legacy") keep working: their tenant must be
 * on the directory's list before its ledger is asked.
 */

const KEY_PATTERN = /^tr-([a-z0-9][a-z0-9_]{0,39})-([A-Za-z0-9_-]{1,128})$/;

/** A signed key's secret part: 32 base64url characters, '-', 32 hex digits of MAC. */
const SIGNED_SECRET = /^([A-Za-z0-9_-]{32})-([0-9a-f]{32})$/;

/** Tenant ids: lower-case letters, digits and '_' (no '-', which delimits the key). */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_]{0,39}$/;

/** The tenant a key claims to belong to, or null when the key is not of our format. */
export function tenantOfKey(key: string): string | null {
  const match = KEY_PATTERN.exec(key);
  return match ? match[1]! : null;
}

/** A key of our format, taken apart: signed (with the MAC to check) or legacy. */
export type ParsedKey = { tenantId: string; kind: "signed"; signedPart: string; mac: string } | { tenantId: string; kind: "legacy" };

/** Parses a presented key; null when it is not of our format at all. */
export function parseKey(key: string): ParsedKey | null {
  const match = KEY_PATTERN.exec(key);
  if (!match) return null;
  const tenantId = match[1]!;
  const signed = SIGNED_SECRET.exec(match[2]!);
  if (!signed) return { tenantId, kind: "legacy" };
  return { tenantId, kind: "signed", signedPart: `tr-${tenantId}-${signed[1]}`, mac: signed[2]! };
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The HMAC key of a deployment's signing secret (hex, as the TenantDirectory keeps it). */
export async function importSigningKey(secretHex: string): Promise<CryptoKey> {
  const bytes = new Uint8Array(secretHex.match(/../g)!.map((h) => parseInt(h, 16)));
  return crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

async function macOf(signingKey: CryptoKey, signedPart: string): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", signingKey, new TextEncoder().encode(signedPart)));
  return hex(mac.subarray(0, 16));
}

/**
 * A fresh signed key for a tenant.
 * @example
 * await generateKey("acme", signingKey) // "tr-acme-7Hq…Qx8a-3f9c…e1"
 */
export async function generateKey(tenantId: string, signingKey: CryptoKey): Promise<string> {
  const signedPart = `tr-${tenantId}-${base64url(crypto.getRandomValues(new Uint8Array(24)))}`;
  return `${signedPart}-${await macOf(signingKey, signedPart)}`;
}

/** Whether a signed key's MAC is the one this deployment would have made (compared in constant time). */
export async function hasValidMac(key: Extract<ParsedKey, { kind: "signed" }>, signingKey: CryptoKey): Promise<boolean> {
  const expected = new TextEncoder().encode(await macOf(signingKey, key.signedPart));
  return sameBytes(expected, new TextEncoder().encode(key.mac));
}

/** A random salt or id, hex. */
export function randomHex(bytes: number): string {
  return hex(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** SHA-256(salt ‖ key): what the ledger stores instead of the key. */
export async function hashKey(salt: string, key: string): Promise<Uint8Array> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${salt}:${key}`));
  return new Uint8Array(digest);
}

/** The indexed lookup column: the hash's first 8 bytes, hex; the full hash is then compared in constant time. */
export function lookupOf(hash: Uint8Array): string {
  return hex(hash.subarray(0, 8));
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
