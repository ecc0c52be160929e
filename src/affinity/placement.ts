/**
 * Placement under a scenario's policy (DESIGN §5): once `decide()` has filtered and scored the
 * candidates, the healthy ones are ordered here (`placeByPolicy`), and under the affinity policy
 * those over their fair share of load are found (`overFairShare`). Pure.
 *
 * The arithmetic: rendezvous (highest-random-weight) order, and the bounded-load test of consistent
 * hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam, "Consistent Hashing with Bounded
 * Loads", SODA 2018): an origin takes a request only while `load + 1 ≤ ⌈(1+ε) · (total + 1) · w⌉`,
 * w its share of the capacity.
 *
 * One change for tiny loads: an origin carrying fewer than `⌈ε · capacity⌉` requests in flight is
 * never over its share (`idleFloor`). With four idle pools the plain bound is 1, so a second
 * concurrent request of the same conversation would leave its cache for nothing; an origin that is
 * nearly idle is not overloaded (SGLang's cache-aware balancer has an absolute threshold for the
 * same reason).
 */

import type { AffinityPolicy } from "./schema";

/** The prompt as placement sees it. */
export interface AffinityView {
  /** Tokens each origin is predicted to reuse from its cache (already rounded to what it can). */
  cachedTokens: Readonly<Record<string, number>>;
  /** The prompt's tokens as the fingerprint counts them: cached shares are of this. */
  promptTokens: number;
  /** The conversation's anchor (see affinity/fingerprint.ts): cold requests are placed by it. */
  anchor: number;
  /** The session's key for `session-hash` (the request's `user`), or null. */
  sessionKey: number | null;
  /** A counter that advances per request, for `round-robin`. */
  rotation: number;
}


/**
 * Candidates within this score of the best are equals under the affinity policy, so long as their
 * extra price over the best's, weighted as the request weighs price, is within it too.
 */
const AFFINITY_BAND = 0.15;
/** A match covering less of the prompt than this does not decide among equals (nor makes a placement "sticky"). */
export const STICKY_SHARE = 0.5;

/** A scored candidate as placement sees it. */
export interface PlacedCandidate {
  origin: string;
  /** The scenario's canary: never part of the fair-share split. */
  canary: boolean;
  /** Already demoted by a rule (a half-open circuit, capacity, the SLO). */
  demoted: boolean;
  /** Its effective capacity, or null when it declares none. */
  capacity: number | null;
  /** In flight / capacity, or null when it declares no capacity. */
  load: number | null;
  inFlight: number;
  /** Prompt tokens predicted to come from its cache. */
  cachedTokens: number;
  /** `decide()`'s score, lower is better. */
  score: number;
  /** What this request would cost there (µ$), and the weight its class gives price in the score (0..1). */
  priceMicros: number;
  priceWeight: number;
  /** Its place in the scenario's list. */
  index: number;
}

/** What placement knows of the request (`decide()`'s `RoutingRequest` fits). */
export interface PlacementRequest {
  affinity?: AffinityView;
  /** Prompt tokens this isolate sent to an origin lately (decayed). */
  recentTokens?: (origin: string) => number;
  /** Requests this isolate sent to an origin lately (decayed). */
  recentRequests?: (origin: string) => number;
  /** The room an origin's prefix cache has besides what is in use, or null when its size is not declared. */
  cacheRoom?: (origin: string) => number | null;
}

/** FNV-1a 32 of a name: an origin's fixed salt in the rendezvous hash. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** murmur3's finalizer: every input bit moves every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The weighted rendezvous key of (key, origin): higher wins. `−w / ln(u)` with u uniform in (0, 1)
 * gives each origin the key's first place with probability proportional to its weight, and
 * removing an origin moves only the keys it held.
 * @example
 * const order = ["a", "b", "c"].sort((x, y) => rendezvousKey(anchor, y) - rendezvousKey(anchor, x));
 */
export function rendezvousKey(key: number, origin: string, weight = 1): number {
  const lo = key >>> 0;
  const hi = Math.floor(key / 0x1_0000_0000) >>> 0;
  const u = (fmix32(fmix32(lo ^ nameHash(origin)) ^ hi) + 0.5) / 0x1_0000_0000;
  return -weight / Math.log(u);
}

/** One origin's side of the bounded-load test. */
export interface LoadShare {
  origin: string;
  /** Its load in requests: sent lately (a decayed count), or in flight now. */
  load: number;
  /** Its capacity (the weight of its fair share). */
  capacity: number;
}

/**
 * The bound of each origin: the most load it may carry, counting this request, to stay within
 * (1+ε) of its fair share of the total load plus this request.
 * @example
 * boundedLoads([{ origin: "a", load: 3, capacity: 8 }, { origin: "b", load: 0, capacity: 8 }], 0.25)
 * // Map { "a" => 3, "b" => 3 }: a (4 with this request) is over its bound, b is not
 */
export function boundedLoads(shares: readonly LoadShare[], epsilon: number): Map<string, number> {
  const total = shares.reduce((sum, s) => sum + s.load, 0);
  const capacity = shares.reduce((sum, s) => sum + s.capacity, 0);
  const bounds = new Map<string, number>();
  for (const s of shares) bounds.set(s.origin, capacity > 0 ? Math.ceil(((1 + epsilon) * (total + 1) * s.capacity) / capacity) : Infinity);
  return bounds;
}

/** Requests in flight below which an origin is never over its share: `⌈ε · capacity⌉`. */
export function idleFloor(capacity: number, epsilon: number): number {
  return Math.ceil(epsilon * capacity);
}

/** A stable 53-bit key of a string (the session key of `session-hash`). */
export function stringKey(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (fmix32(b) & 0x1fffff) * 0x1_0000_0000 + fmix32(a);
}

/**
 * The candidates past (1+ε) of their fair share of load, to be demoted to last resorts. The share
 * is of the requests sent lately when the isolate counts them: in flight, a miss (a long prefill)
 * weighs as much as the ten hits that take as long, and an origin catching up after a burst of
 * misses would push its cached conversations away, to prefill them all again elsewhere. Capacity
 * (`over_capacity`) is what protects an origin from too much in flight. A nearly idle origin (fewer
 * than ⌈ε·capacity⌉ in flight) is never over its share.
 */
export function overFairShare<T>(kept: readonly T[], of: (t: T) => PlacedCandidate, request: PlacementRequest, epsilon: number): T[] {
  const loadOf = (c: PlacedCandidate) => request.recentRequests?.(c.origin) ?? c.inFlight;
  const shares = kept
    .map(of)
    .filter((c) => c.capacity !== null && !c.canary)
    .map((c) => ({ origin: c.origin, load: loadOf(c), capacity: c.capacity! }));
  const bounds = boundedLoads(shares, epsilon);
  return kept.filter((k) => {
    const c = of(k);
    const bound = bounds.get(c.origin);
    if (bound === undefined || c.demoted || c.inFlight + 1 <= idleFloor(c.capacity!, epsilon)) return false;
    return loadOf(c) + 1 > bound;
  });
}

/**
 * Orders the healthy candidates (sorted by score) by the scenario's policy.
 *
 * - `affinity`: candidates scoring within 0.15 of the best count as equals, unless dearer than the
 *   best by more than the band once weighted as the request weighs price (`dearer`); among them
 *   the deepest cached prefix wins if it covers at least half the prompt, then weighted rendezvous
 *   order on the conversation's anchor, the better of its first two taking it: a cold conversation
 *   lands on one of two fixed origins ("power of two choices"), and a hot prefix spills to a small
 *   stable set.
 * - `round-robin`: the listed order, rotated per request; `least-loaded`: by load; `session-hash`:
 *   rendezvous order on the request's `user` (else the conversation's anchor).
 */
export function placeByPolicy<T>(healthy: T[], of: (t: T) => PlacedCandidate, request: PlacementRequest, policy: AffinityPolicy): T[] {
  if (healthy.length < 2) return healthy;
  const affinity = request.affinity;
  const weightOf = (t: T) => of(t).capacity ?? 1;
  const loadOf = (t: T) => of(t).load ?? of(t).inFlight;
  const byKey = (key: number) => (a: T, b: T) => rendezvousKey(key, of(b).origin, weightOf(b)) - rendezvousKey(key, of(a).origin, weightOf(a));
  switch (policy) {
    case "affinity": {
      if (!affinity) return healthy;
      const best = of(healthy[0]!);
      const equals = healthy.filter((t) => of(t).score <= best.score + AFFINITY_BAND && !dearer(of(t), best));
      const rest = healthy.filter((t) => !equals.includes(t));
      const rendezvous = byKey(affinity.anchor);
      const sticky = (t: T) => (of(t).cachedTokens >= STICKY_SHARE * affinity.promptTokens ? of(t).cachedTokens : 0);
      const placed = equals.sort((a, b) => sticky(b) - sticky(a) || rendezvous(a, b));
      // A cold conversation takes the better of its first two rendezvous origins: still one of two
      // fixed places per conversation, and new conversations fill the emptier one. Emptier: the
      // cache with more room besides what is in use (free, or held by conversations that ended or
      // moved), then fewer prompt tokens sent lately per capacity.
      const [first, second] = placed;
      if (first && second && sticky(first) === 0 && coldOrder(request, of, weightOf)(second, first) < 0) [placed[0], placed[1]] = [second, first];
      return [...placed, ...rest];
    }
    case "round-robin": {
      const listed = [...healthy].sort((a, b) => of(a).index - of(b).index);
      const shift = (affinity?.rotation ?? 0) % listed.length;
      return [...listed.slice(shift), ...listed.slice(0, shift)];
    }
    case "least-loaded":
      return [...healthy].sort((a, b) => loadOf(a) - loadOf(b));
    case "session-hash":
      return affinity ? [...healthy].sort(byKey(affinity.sessionKey ?? affinity.anchor)) : healthy;
  }
}

/**
 * Whether a candidate costs more than the best one by more than the band, its relative extra price
 * weighted as the request weighs price: a batch request (weight 0.95) holds 16 % dearer unequal, a
 * standard one (0.5) 30 %, an interactive one (0.1) 2.5×. Scores put price over the dearest
 * candidate's, so with a dear origin among them, the band alone would hold a cheap origin and one
 * costing 70 % more as equals, and rendezvous order would send half of a batch load to the dearer
 * (the TaaS benchmark, #15). Latency estimates move; prices are known.
 */
function dearer(c: PlacedCandidate, best: PlacedCandidate): boolean {
  if (c.priceMicros <= best.priceMicros) return false;
  if (best.priceMicros === 0) return true;
  return c.priceWeight * (c.priceMicros / best.priceMicros - 1) > AFFINITY_BAND;
}

/** Orders candidates for a cold conversation: more room without evicting anything in use first, then less recent prefill work. */
function coldOrder<T>(request: PlacementRequest, of: (t: T) => PlacedCandidate, weightOf: (t: T) => number): (a: T, b: T) => number {
  const recent = (t: T) => (request.recentTokens?.(of(t).origin) ?? 0) / weightOf(t);
  return (a, b) => {
    const ra = request.cacheRoom?.(of(a).origin) ?? null;
    const rb = request.cacheRoom?.(of(b).origin) ?? null;
    if (ra !== null && rb !== null && ra !== rb) return rb - ra;
    return recent(a) - recent(b);
  };
}
