/**
 * Before the day: one small request per tenant (isolate, JIT, ledger objects, health monitors),
 * in the virtual evening before, not measured. Its decision's `at` says which clock the router
 * reads: the benchmark's virtual one, or its own.
 */
import { virtualAt, type DayClock } from "./clock";
import { parseDecision } from "./driver";

export interface WarmUp {
  /** The router's request ids of the warm-up requests: left out of the accounting. */
  requestIds: string[];
  /** Router clock − virtual clock at the warm-up request closest to it (virtual ms; null when no decision came back). */
  skewMs: number | null;
}

export async function warmUp(routerUrl: string, keys: ReadonlyMap<string, string>, model: string, clock: DayClock): Promise<WarmUp> {
  const requestIds: string[] = [];
  let skewMs: number | null = null;
  for (const [tenant, key] of keys) {
    const sent = Date.now();
    const res = await fetch(`${routerUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}`, "x-router-explain": "1" },
      body: JSON.stringify({ model, max_tokens: 4, stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: `warm-up ${tenant}` }] }),
    });
    const text = await res.text();
    if (res.status !== 200 || !text.includes("[DONE]")) throw new Error(`warm-up request for ${tenant}: ${res.status} ${text.slice(0, 300)}`);
    const id = res.headers.get("x-request-id");
    if (id) requestIds.push(id);
    const decision = parseDecision(res.headers.get("x-router-decision"));
    if (decision) {
      const skew = decision.at - virtualAt(clock, (sent + Date.now()) / 2);
      // The smallest skew is the best evidence: the first request also pays the isolate's start.
      if (skewMs === null || Math.abs(skew) < Math.abs(skewMs)) skewMs = skew;
    }
  }
  return { requestIds, skewMs };
}

/** Whether the router follows the benchmark's clock: its decisions' instants within a few virtual minutes of it. */
export function followsClock(skewMs: number | null, clock: DayClock): boolean {
  // A request's own duration (tens of real ms) is minutes of virtual time at high speeds.
  return skewMs !== null && Math.abs(skewMs) <= Math.max(300_000, 2_000 * clock.speed);
}
