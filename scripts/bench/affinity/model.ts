/**
 * An offline model of the replay: the trace through K origins, each an LRU of blocks (the
 * simulator's cache) and a FIFO prefill queue of `prefillSlots` servers, with a routing policy
 * decided from the model's own state. No sockets, no router: it predicts what each policy can
 * reach on this trace (and was used to tune the workload's parameters), so a measured result far
 * from it points at the router, the machine or the simulator rather than at the trace.
 *
 * The model's policies:
 * - round-robin: a global counter;
 * - least-loaded: fewest requests in flight (ties: lowest index);
 * - session-hash: FNV-1a of `user`, mod K;
 * - affinity: the origin holding the longest cached prefix of the prompt, among origins whose
 *   request count so far stays within (1 + ε) × the mean; ties and misses go to the least
 *   loaded (in flight). It reads the caches directly, which a router cannot: an upper bound for affinity.
 */
import { fnv1a32 } from "../../../src/sim/hash";
import { utf8 } from "../../../src/sim/tokens";
import { reportedCached, type PromptBlocks } from "./ideal";
import type { Trace } from "./workload";

export const POLICIES = ["round-robin", "least-loaded", "session-hash", "affinity"] as const;
export type Policy = (typeof POLICIES)[number];

/** An LRU of block hashes that behaves like the simulator's `PrefixCache`, plus a read-only lookup. */
class Lru {
  private readonly blocks = new Map<string, true>();
  constructor(private readonly capacity: number) {}
  matched(hashes: readonly string[]): number {
    let n = 0;
    while (n < hashes.length && this.blocks.has(hashes[n]!)) n++;
    return n;
  }
  serve(hashes: readonly string[]): number {
    const n = this.matched(hashes);
    if (this.capacity === 0) return n;
    for (let i = hashes.length - 1; i >= 0; i--) {
      const h = hashes[i]!;
      this.blocks.delete(h);
      this.blocks.set(h, true);
      if (this.blocks.size > this.capacity) this.blocks.delete(this.blocks.keys().next().value!);
    }
    return n;
  }
}

export interface OriginTiming {
  ttftBaseMs: number;
  prefillMsPerToken: number;
  prefillSlots: number;
  decodeTokensPerSec: number;
  cacheBlocks: number;
}

export interface ModelResult {
  policy: Policy;
  hitRate: number;
  ttftP50: number;
  ttftP90: number;
  ttftP99: number;
  /** Requests per origin. */
  requests: number[];
  imbalance: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Runs the trace through the model under one policy. */
export function modelPolicy(trace: Trace, blocks: readonly PromptBlocks[], k: number, t: OriginTiming, policy: Policy, epsilon: number): ModelResult {
  const caches = Array.from({ length: k }, () => new Lru(t.cacheBlocks));
  // Per origin: when each prefill slot frees, and when each request in flight ends.
  const slots = Array.from({ length: k }, () => new Array<number>(Math.max(1, t.prefillSlots)).fill(0));
  const ends: number[][] = Array.from({ length: k }, () => []);
  const requests = new Array<number>(k).fill(0);
  const ttfts: number[] = [];
  let prompt = 0;
  let cached = 0;
  let rr = 0;
  trace.entries.forEach((e, i) => {
    const now = e.at;
    const inFlight = ends.map((list, j) => (ends[j] = list.filter((end) => end > now)).length);
    const leastLoaded = (among: number[]) => among.reduce((best, j) => (inFlight[j]! < inFlight[best]! ? j : best), among[0]!);
    const all = [...Array(k).keys()];
    let target: number;
    switch (policy) {
      case "round-robin":
        target = rr++ % k;
        break;
      case "least-loaded":
        target = leastLoaded(all);
        break;
      case "session-hash":
        target = fnv1a32(utf8(e.body.user)) % k;
        break;
      case "affinity": {
        // Bounded load over the run so far: no origin past (1 + ε) × the mean request count.
        const bound = ((1 + epsilon) * (requests.reduce((a, b) => a + b, 0) + 1)) / k;
        const allowed = all.filter((j) => requests[j]! + 1 <= Math.max(1, bound));
        const among = allowed.length > 0 ? allowed : all;
        const hits = among.map((j) => caches[j]!.matched(blocks[i]!.hashes));
        const best = Math.max(...hits);
        target = best > 0 ? leastLoaded(among.filter((_, n) => hits[n] === best)) : leastLoaded(among);
        break;
      }
    }
    requests[target] = requests[target]! + 1;
    const b = blocks[i]!;
    const got = reportedCached(caches[target]!.serve(b.hashes), b.promptTokens);
    prompt += b.promptTokens;
    cached += got;
    const free = slots[target]!;
    let s = 0;
    for (let n = 1; n < free.length; n++) if (free[n]! < free[s]!) s = n;
    // 0 slots: unlimited, as in the simulator (no queue).
    const start = t.prefillSlots > 0 ? Math.max(now, free[s]!) : now;
    const done = start + t.ttftBaseMs + (b.promptTokens - got) * t.prefillMsPerToken;
    free[s] = done;
    ttfts.push(done - now);
    const decode = t.decodeTokensPerSec > 0 ? (e.body.max_tokens / t.decodeTokensPerSec) * 1000 : 0;
    ends[target]!.push(done + decode);
  });
  ttfts.sort((a, b) => a - b);
  const mean = requests.reduce((a, b) => a + b, 0) / k;
  return {
    policy,
    hitRate: prompt > 0 ? cached / prompt : 0,
    ttftP50: quantile(ttfts, 0.5),
    ttftP90: quantile(ttfts, 0.9),
    ttftP99: quantile(ttfts, 0.99),
    requests,
    imbalance: mean > 0 ? Math.max(...requests) / mean : 0,
  };
}
