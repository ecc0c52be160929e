/**
 * Authenticating a tenant's API key. The Worker first makes sure the key could be one it issued
 * (its MAC, or for a legacy key its tenant on the directory's list: `auth/key-check.ts`), so a
 * made-up key never reaches a tenant's object. The key names its tenant, whose ledger then answers
 * in one round trip whether the key is live, what it may use, and whether it is admitted.
 */
import { parseKey } from "../auth/api-key";
import { bearerToken } from "../auth/bearer";
import { clientAddress } from "../auth/failure-limit";
import type { TenantLedger } from "../ledger/tenant-ledger";
import type { LedgerClient } from "../lease/ledger-client";
import type { AdmitResult } from "../ledger/types";
import { RouterError } from "../openai/errors";
import type { RequestContext } from "./context";

export interface Caller {
  key: string;
  tenantId: string;
  /** The tenant's ledger, as the request path calls it (counted). */
  ledger: LedgerClient;
  /** Its stub, for the tenant's own reads (usage, budgets). */
  stub: DurableObjectStub<TenantLedger>;
  /** Counts the key as a failed authentication from the caller's address (the ledger refused it). */
  refused: () => void;
}

/**
 * The caller's key and ledger. Throws 401 when the key is absent or could not be one this
 * deployment issued, and 429 when the client's address has failed too often lately (a key that
 * passes the check is let through even then: only guesses are slowed).
 */
export async function authenticate(ctx: Pick<RequestContext, "request" | "env" | "isolate" | "config">): Promise<Caller> {
  const key = bearerToken(ctx.request.headers.get("authorization"));
  if (!key) throw new RouterError({ kind: "missing_api_key" });
  const { keys, keyFailures } = ctx.isolate;
  const now = Date.now();
  let address: string | undefined;
  const addressOf = () => (address ??= clientAddress(ctx.request, ctx.config.security.clientAddressHeader));
  const wait = keyFailures.retryAfterSeconds(addressOf, now);
  // A blocked address still gets a signed key checked (an HMAC, no object reached), not a legacy
  // one: that would ask the directory on every guess.
  if (wait > 0 && parseKey(key)?.kind !== "signed") throw new RouterError({ kind: "too_many_auth_failures", retryAfterSeconds: wait });
  const check = await keys.check(key);
  if (check.ok) return new KeyCaller(key, check.tenantId, ctx, () => keyFailures.fail(addressOf(), Date.now()));
  if (wait > 0) throw new RouterError({ kind: "too_many_auth_failures", retryAfterSeconds: wait });
  keyFailures.fail(addressOf(), now);
  throw new RouterError({ kind: "invalid_api_key" });
}

/** A caller whose key passed the check. A class: an object literal with a getter is built on V8's slow path, every request. */
class KeyCaller implements Caller {
  readonly ledger: LedgerClient;

  constructor(
    readonly key: string,
    readonly tenantId: string,
    private readonly ctx: Pick<RequestContext, "env" | "isolate">,
    readonly refused: () => void,
  ) {
    this.ledger = ctx.isolate.ledger(tenantId);
  }

  /** Made when read (the tenant's own reads): a proxied request never needs it (making it hashes the name). */
  get stub(): DurableObjectStub<TenantLedger> {
    return this.ctx.env.TENANT_LEDGER.getByName(this.tenantId);
  }
}

export type Admitted = Extract<AdmitResult, { ok: true }>;

const PERIOD_NAMES = { day: "daily", month: "monthly", total: "total" } as const;

/**
 * Narrows an admission to its success, or throws the failure the client gets: 401 for a bad key,
 * 404 for a model it may not use, 429 (with `Retry-After` and rate-limit headers) for a rate limit
 * or a spent budget. `now` is the router's clock, which a budget's period end is on.
 */
export function admitted(result: AdmitResult, model: string | null, caller: Pick<Caller, "refused">, now: number): Admitted {
  if (result.ok) return result;
  switch (result.reason) {
    case "invalid_key":
      // A listed tenant's legacy-shaped guess, or a revoked key: a failed authentication all the same.
      caller.refused();
      throw new RouterError({ kind: "invalid_api_key" });
    case "tenant_disabled":
      throw new RouterError({ kind: "invalid_api_key" });
    case "model_not_allowed":
      throw new RouterError({ kind: "model_not_found", model: model ?? "" });
    case "rate_limited":
      throw new RouterError({ kind: "rate_limited", dimension: result.dimension, retryAfterSeconds: result.retryAfterMs / 1000, rateLimit: result.rateLimit });
    case "insufficient_quota": {
      const b = result.budget;
      const scope = b.keyId ? `key ${b.keyId}` : "tenant";
      const unit = b.metric === "cost" ? "micro-dollars" : "tokens";
      throw new RouterError({
        kind: "insufficient_quota",
        what: `the ${scope}'s ${PERIOD_NAMES[b.period]} budget of ${b.limit} ${unit} (${b.id}) cannot cover this request`,
        retryAfterSeconds: b.resetsAt === null ? null : Math.max(1, (b.resetsAt - now) / 1000),
        rateLimit: result.rateLimit,
      });
    }
  }
}

/** Whether a key limited to `allowed` models may use `model`. */
export function mayUse(allowed: string[] | null, model: string): boolean {
  return allowed === null || allowed.includes(model);
}

/** Authenticates and asks the ledger about the key alone (no request to reserve for): the reads of `/v1`. */
export async function verifiedCaller(ctx: Pick<RequestContext, "request" | "env" | "isolate" | "config" | "requestId" | "log">): Promise<{ caller: Caller; admission: Admitted }> {
  const caller = await authenticate(ctx);
  const at = ctx.isolate.clock.now();
  const admission = admitted(await caller.ledger.admit({ key: caller.key, requestId: ctx.requestId, at, model: null, reserve: null }), null, caller, at);
  ctx.log.identified(admission.tenantId, admission.keyId);
  return { caller, admission };
}
