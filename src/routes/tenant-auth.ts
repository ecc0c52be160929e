/**
 * Authenticating a tenant's API key: its format names the tenant, whose ledger object answers
 * in one round trip whether the key is valid, what it may use, and whether it is admitted.
 */
import { bearerToken } from "../auth/bearer";
import { tenantOfKey } from "../auth/api-key";
import type { RouterEnv } from "../env";
import type { AdmitResult } from "../ledger/types";
import { RouterError, toErrorResponse } from "../openai/errors";
import { setRateLimitHeaders } from "../openai/rate-limit-headers";

export interface Caller {
  key: string;
  tenantId: string;
  ledger: DurableObjectStub<import("../ledger/tenant-ledger").TenantLedger>;
}

/** The caller's key and ledger; throws 401 when the key is absent or not of our format. */
export function callerOf(env: RouterEnv, authorization: string | undefined): Caller {
  const key = bearerToken(authorization);
  if (!key) throw new RouterError({ kind: "missing_api_key" });
  const tenantId = tenantOfKey(key);
  if (!tenantId) throw new RouterError({ kind: "invalid_api_key" });
  return { key, tenantId, ledger: env.TENANT_LEDGER.getByName(tenantId) };
}

export type Admitted = Extract<AdmitResult, { ok: true }>;

const PERIOD_NAMES = { day: "daily", month: "monthly", total: "total" } as const;

/**
 * Narrows an admission to its success, or throws the response the client gets: 401 for a bad
 * key, 404 for a model it may not use, 429 (with `Retry-After` and rate-limit headers) for a rate
 * limit or a spent budget.
 */
export function admitted(result: AdmitResult, model: string | null): Admitted {
  if (result.ok) return result;
  switch (result.reason) {
    case "invalid_key":
    case "tenant_disabled":
      throw new RouterError({ kind: "invalid_api_key" });
    case "model_not_allowed":
      throw new RouterError({ kind: "model_not_found", model: model ?? "" });
    case "rate_limited": {
      const response = toErrorResponse({
        kind: "rate_limited",
        dimension: result.dimension,
        retryAfterSeconds: result.retryAfterMs / 1000,
      });
      setRateLimitHeaders(response.headers, result.rateLimit);
      throw new ResponseError(response);
    }
    case "insufficient_quota": {
      const b = result.budget;
      const scope = b.keyId ? `key ${b.keyId}` : "tenant";
      const unit = b.metric === "cost" ? "micro-dollars" : "tokens";
      const response = toErrorResponse({
        kind: "insufficient_quota",
        what: `the ${scope}'s ${PERIOD_NAMES[b.period]} budget of ${b.limit} ${unit} (${b.id}) cannot cover this request`,
        retryAfterSeconds: b.resetsAt === null ? null : Math.max(1, (b.resetsAt - Date.now()) / 1000),
      });
      setRateLimitHeaders(response.headers, result.rateLimit);
      throw new ResponseError(response);
    }
  }
}

/** A finished response thrown from deep inside a handler; `app.onError` returns it as it is. */
export class ResponseError extends Error {
  constructor(readonly response: Response) {
    super("response");
  }
}

/** Whether a key limited to `allowed` models may use `model`. */
export function mayUse(allowed: string[] | null, model: string): boolean {
  return allowed === null || allowed.includes(model);
}
