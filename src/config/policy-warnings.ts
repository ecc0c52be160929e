/**
 * Warnings for a policy's `allowedModels` that cannot do what they say (issue #16): a key naming
 * models its tenant's policy does not allow (admission takes both lists' intersection, so those
 * requests are refused), models that are no scenario of the routing config, and a key left with no
 * model at all. They are warnings, not errors: the config may gain the scenario later, the tenant's
 * policy may widen, and the admin API stores the policy as given. Pure: policies and scenario names
 * in, warnings out.
 */

export type PolicyWarningCode = "model_not_allowed_by_tenant" | "unknown_scenario" | "no_model_allowed" | "key_models_outside_tenant";

export interface PolicyWarning {
  code: PolicyWarningCode;
  message: string;
  /** The body field it concerns. */
  param: string;
  /** The models it names (none for `no_model_allowed`). */
  models: string[];
  /** For `key_models_outside_tenant`: the key concerned. */
  keyId?: string;
}

const PARAM = "policy.allowedModels";

function quoted(models: readonly string[]): string {
  return models.map((m) => `'${m}'`).join(", ");
}

/** Models of `list` that no scenario of the config serves. */
function unknownScenarios(list: readonly string[] | null, scenarios: ReadonlySet<string>): PolicyWarning[] {
  const unknown = (list ?? []).filter((m) => !scenarios.has(m));
  if (unknown.length === 0) return [];
  return [{ code: "unknown_scenario", param: PARAM, models: unknown, message: `Not a scenario of the routing config: ${quoted(unknown)}. Requests for them are refused until the config has them.` }];
}

/**
 * What is wrong with a key's `allowedModels`, given its tenant's and the config's scenarios.
 * @example
 * keyPolicyWarnings(["chat-main", "gpt-9"], ["chat-main"], new Set(["chat-main"]))
 * // model_not_allowed_by_tenant (gpt-9), unknown_scenario (gpt-9)
 */
export function keyPolicyWarnings(key: readonly string[] | null, tenant: readonly string[] | null, scenarios: ReadonlySet<string>): PolicyWarning[] {
  if (key === null) return [];
  const warnings: PolicyWarning[] = [];
  const outside = tenant === null ? [] : key.filter((m) => !tenant.includes(m));
  if (outside.length > 0) {
    warnings.push({ code: "model_not_allowed_by_tenant", param: PARAM, models: outside, message: `The tenant's policy does not allow ${quoted(outside)}: this key's requests for them are refused.` });
  }
  warnings.push(...unknownScenarios(key, scenarios));
  if (key.length === outside.length) {
    warnings.push({ code: "no_model_allowed", param: PARAM, models: [], message: "This key may use no model: every request it makes for one is refused." });
  }
  return warnings;
}

/**
 * What is wrong with a tenant's `allowedModels`: scenarios the config does not have, and each live
 * key whose own list names models the tenant's no longer allows.
 */
export function tenantPolicyWarnings(
  tenant: readonly string[] | null,
  keys: ReadonlyArray<{ id: string; allowedModels: readonly string[] | null }>,
  scenarios: ReadonlySet<string>,
): PolicyWarning[] {
  const warnings = unknownScenarios(tenant, scenarios);
  if (tenant === null) return warnings;
  for (const key of keys) {
    const outside = (key.allowedModels ?? []).filter((m) => !tenant.includes(m));
    if (outside.length === 0) continue;
    warnings.push({
      code: "key_models_outside_tenant",
      param: PARAM,
      models: outside,
      keyId: key.id,
      message: `Key '${key.id}' names ${quoted(outside)}, which the tenant's policy does not allow: its requests for them are refused.`,
    });
  }
  return warnings;
}
