/**
 * The budgeted tenant's daily budget, sized from the trace before any run so that it runs out in
 * the afternoon: half of what the tenant's whole day would cost on the cheapest MaaS at list price
 * (its traffic follows office hours, so half its day's demand has arrived by early afternoon). The
 * soft limit is 80 % of it. Token counts are the simulator's own (src/sim/tokens.ts, text.ts), so
 * the sizing needs no run. The same budget applies to every policy; a policy that serves the
 * tenant more cheaply is capped later, one that serves it dearer sooner.
 */
import { costMicros } from "../../../src/pricing/cost";
import { generateCompletion, promptSeed } from "../../../src/sim/text";
import { renderChatPrompt, tokensForBytes, utf8 } from "../../../src/sim/tokens";
import { UPSTREAM_MODEL } from "./origins";
import { listPrices } from "./prices";
import type { BudgetSpec } from "./admin";
import type { Trace } from "./trace";

/** The budget's share of the tenant's day at the reference price. */
export const BUDGET_SHARE = 0.5;
export const SOFT_SHARE = 0.8;
/** The reference: what "MaaS only, cheapest" charges outside its discount window. */
export const REFERENCE_ORIGIN = "maas-lowcost";

/** The budget of the trace's budgeted tenant, or null if it has none. */
export function sizeBudget(trace: Trace): (BudgetSpec & { dayCostMicros: number }) | null {
  const tenant = trace.tenants.find((t) => t.budgeted);
  if (!tenant) return null;
  const prices = listPrices(REFERENCE_ORIGIN);
  let day = 0;
  for (const e of trace.entries) {
    if (e.tenant !== tenant.id) continue;
    const rendering = utf8(renderChatPrompt({ model: UPSTREAM_MODEL, messages: e.body.messages }));
    const completion = generateCompletion(promptSeed(rendering), e.body.max_tokens).tokens.length;
    day += costMicros(prices, { promptTokens: tokensForBytes(rendering.byteLength), cachedTokens: 0, cacheWriteTokens: 0, completionTokens: completion });
  }
  const limitMicros = Math.round(day * BUDGET_SHARE);
  return { tenant: tenant.id, limitMicros, softLimitMicros: Math.round(limitMicros * SOFT_SHARE), dayCostMicros: day };
}
