/**
 * Checking a presented tenant key in the Worker, before any tenant's object is reached (issue #12,
 * item 1). A signed key must carry the MAC this deployment would have made; a legacy key (issued
 * before the MAC) must name a tenant on the directory's list. Either way a made-up key costs an
 * HMAC or a cached lookup, and creates nothing. What passes still goes to the tenant's ledger,
 * which compares the key's hash: the MAC proves the router issued the key, not that it is live.
 */
import { hasValidMac, importSigningKey, parseKey } from "./api-key";

export type KeyCheck = { ok: true; tenantId: string; signed: boolean } | { ok: false };

/** How long an isolate trusts the directory's word on a legacy key's tenant. */
const TENANT_CACHE_MS = 60_000;
/** Bounds on the isolate's memory of verified keys and of tenants asked about. */
const MAX_REMEMBERED = 10_000;

/** The directory as the checker uses it (the TenantDirectory's stub fits). */
export interface DirectoryStub {
  signingSecret(): Promise<string>;
  exists(tenantId: string): Promise<boolean>;
}

export class KeyChecker {
  private signing: Promise<CryptoKey> | null = null;
  /** Signed keys whose MAC was checked: the next request with one skips the HMAC. */
  private readonly validMacs = new Set<string>();
  /** Legacy keys' tenants the directory listed, until when this isolate trusts it. */
  private readonly listed = new Map<string, number>();

  constructor(
    private readonly directory: () => DirectoryStub,
    private readonly now: () => number,
  ) {}

  /** The deployment's HMAC key, fetched from the directory once per isolate (again after a failure). */
  signingKey(): Promise<CryptoKey> {
    this.signing ??= this.directory()
      .signingSecret()
      .then(importSigningKey)
      .catch((e: unknown) => {
        this.signing = null;
        throw e;
      });
    return this.signing;
  }

  /** Whether the key could be one this deployment issued; see the module comment. */
  async check(key: string): Promise<KeyCheck> {
    const parsed = parseKey(key);
    if (!parsed) return { ok: false };
    if (parsed.kind === "signed") {
      if (this.validMacs.has(key)) return { ok: true, tenantId: parsed.tenantId, signed: true };
      if (!(await hasValidMac(parsed, await this.signingKey()))) return { ok: false };
      remember(this.validMacs, key);
      return { ok: true, tenantId: parsed.tenantId, signed: true };
    }
    return (await this.tenantExists(parsed.tenantId)) ? { ok: true, tenantId: parsed.tenantId, signed: false } : { ok: false };
  }

  /**
   * Whether the directory lists the tenant. Only "yes" is remembered: a tenant adopted a moment ago
   * must work at once, and guesses are bounded by the failure limit, which stops asking for an
   * address that failed too often (`request/authenticate.ts`).
   */
  private async tenantExists(tenantId: string): Promise<boolean> {
    const now = this.now();
    const until = this.listed.get(tenantId);
    if (until !== undefined && until > now) return true;
    const exists = await this.directory().exists(tenantId);
    this.listed.delete(tenantId);
    if (exists) {
      this.listed.set(tenantId, now + TENANT_CACHE_MS);
      if (this.listed.size > MAX_REMEMBERED) this.listed.delete(this.listed.keys().next().value!);
    }
    return exists;
  }
}

function remember(set: Set<string>, value: string): void {
  set.add(value);
  if (set.size > MAX_REMEMBERED) set.delete(set.values().next().value!);
}
