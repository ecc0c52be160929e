/**
 * Authenticating a tenant's API key: its format names the tenant, whose ledger object answers
 * in one round trip whether the key is valid and what it may use.
 */
import { bearerToken } from "../auth/bearer";
import { tenantOfKey } from "../auth/api-key";
import type { RouterEnv } from "../env";
import type { AdmitResult } from "../ledger/types";
import { RouterError } from "../openai/errors";

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

/** Narrows an admission to its success; throws 401 otherwise. */
export function admitted(result: AdmitResult): Extract<AdmitResult, { ok: true }> {
  if (!result.ok) throw new RouterError({ kind: "invalid_api_key" });
  return result;
}

/** Whether a key limited to `allowed` models may use `model`. */
export function mayUse(allowed: string[] | null, model: string): boolean {
  return allowed === null || allowed.includes(model);
}
