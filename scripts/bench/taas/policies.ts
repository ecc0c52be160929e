/**
 * The policies replayed over the day, each a variant of the router's config: the same origins
 * (origins.ts), tenants and budgets, one scenario whose candidates, routing mode and placement
 * differ. The baselines are what teams run today, written as our router would run them; the
 * router's rules (windows, open circuits, capacity, budget price cut) therefore apply to them too.
 */
import { parseRouterConfig, validateOptionsOf } from "../../../src/config/load";
import { LOCAL_VARS } from "../../lib/demo";
import type { RouterConfigInput } from "../../../src/config/schema";
import { ORIGIN_SECRETS, routerOrigins, UPSTREAM_MODEL, type OriginName } from "./origins";

export const POLICIES = ["token-router", "maas-cheapest", "pool-first", "cheapest-first", "round-robin"] as const;
export type Policy = (typeof POLICIES)[number];

/** The model name clients send: the scenario. */
export const SCENARIO = "chat-day";
/** The interactive TTFT objective (real ms), the router's `slo.ttftMs` and the benchmark's yardstick for every policy. */
export const SLO_TTFT_MS = 1000;
/** The longest a batch request may wait for a cheaper window or capacity (virtual ms; the schema's maximum). */
export const FLEX_MAX_WAIT_MS = 600_000;
/** Where Token Router degrades a tenant past its budget's soft limit. */
export const DEGRADE: readonly OriginName[] = ["pool", "maas-lowcost"];

/**
 * Health in real milliseconds, scaled down from the defaults (5 s snapshots, 2 s reports): at a
 * day in 4 minutes, 5 real seconds are 30 virtual minutes, longer than the brown-out lasts.
 */
const HEALTH = { snapshotTtlMs: 500, reportDelayMs: 250 };

export const POLICY_LABELS: Readonly<Record<Policy, string>> = {
  "token-router": "Token Router (scored)",
  "maas-cheapest": "MaaS only, cheapest",
  "pool-first": "pool first, failover",
  "cheapest-first": "cheapest first",
  "round-robin": "round-robin",
};

/** Short names for narrow chart labels. */
export const POLICY_SHORT: Readonly<Record<Policy, string>> = {
  "token-router": "ROUTER",
  "maas-cheapest": "MAAS",
  "pool-first": "POOL",
  "cheapest-first": "CHEAP",
  "round-robin": "RR",
};

const candidates = (...origins: OriginName[]) => origins.map((origin) => ({ origin, model: UPSTREAM_MODEL }));

type ScenarioInput = RouterConfigInput["scenarios"][string];

function scenarioOf(policy: Policy): ScenarioInput {
  switch (policy) {
    case "token-router":
      return {
        description: "Token Router as configured: scored by class (price, TTFT and its stability, errors), the pool for interactive in office hours, degrade past a soft limit, batch waits for a cheaper window.",
        candidates: candidates("pool", "maas-lowcost", "maas-premium"),
        routing: "scored",
        slo: { ttftMs: SLO_TTFT_MS },
        degrade: [...DEGRADE],
        flex: { maxWaitMs: FLEX_MAX_WAIT_MS },
      };
    case "maas-cheapest":
      return { description: "MaaS only, on the cheapest provider by list price.", candidates: candidates("maas-lowcost"), routing: "ordered" };
    case "pool-first":
      return { description: "Our pool first, failing over to the established provider, then the cheap one.", candidates: candidates("pool", "maas-premium", "maas-lowcost"), routing: "ordered" };
    case "cheapest-first":
      return { description: "Cheapest first by list price: pool, cheap MaaS, premium MaaS.", candidates: candidates("pool", "maas-lowcost", "maas-premium"), routing: "ordered" };
    case "round-robin":
      return { description: "Round-robin over every origin.", candidates: candidates("pool", "maas-lowcost", "maas-premium"), routing: "scored", affinity: { policy: "round-robin" } };
  }
}

/**
 * The router config of one policy as the JSON text the Worker gets, validated as the Worker
 * validates it on workerd (loopback origins allowed by `LOCAL_VARS`, every API key secret set).
 */
export function policyConfig(policy: Policy, simUrl: string): string {
  const input: RouterConfigInput = { version: 1, origins: routerOrigins(simUrl), scenarios: { [SCENARIO]: scenarioOf(policy) }, health: HEALTH };
  const text = JSON.stringify(input);
  parseRouterConfig(text, validateOptionsOf(LOCAL_VARS, (name) => Object.hasOwn(ORIGIN_SECRETS, name)));
  return text;
}
