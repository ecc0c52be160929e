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
  /**
   * How far (virtual ms) the router's clock, as its decisions state it, was outside the virtual
   * interval each warm-up request spent at the router (0: inside it); the largest; null when no
   * decision came back.
   */
  skewMs: number | null;
}

/** Tries per tenant: on a loaded machine an origin can miss its first-byte timeout. */
const TRIES = 5;

export async function warmUp(routerUrl: string, keys: ReadonlyMap<string, string>, model: string, clock: DayClock): Promise<WarmUp> {
  const requestIds: string[] = [];
  let skewMs: number | null = null;
  for (const [tenant, key] of keys) {
    for (let i = 1; ; i++) {
      const sent = Date.now();
      const res = await fetch(`${routerUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}`, "x-router-explain": "1" },
        body: JSON.stringify({ model, max_tokens: 4, stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: `warm-up ${tenant}` }] }),
      });
      const text = await res.text();
      const done = Date.now();
      const id = res.headers.get("x-request-id");
      if (id) requestIds.push(id);
      const decision = parseDecision(res.headers.get("x-router-decision"));
      if (decision) {
        // The decision was made while the request was out: its instant is inside that interval,
        // whatever the machine's load made the interval's length.
        const skew = Math.max(0, virtualAt(clock, sent) - decision.at, decision.at - virtualAt(clock, done));
        skewMs = Math.max(skewMs ?? 0, skew);
      }
      if (res.status === 200 && text.includes("[DONE]")) break;
      if (res.status < 500 || i === TRIES) throw new Error(`warm-up request for ${tenant}: ${res.status} ${text.slice(0, 300)}`);
    }
  }
  return { requestIds, skewMs };
}

/** Whether the router follows the benchmark's clock: every warm-up decision stated an instant within a virtual minute of the request's interval. */
export function followsClock(skewMs: number | null): boolean {
  return skewMs !== null && skewMs <= 60_000;
}
