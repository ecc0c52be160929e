/**
 * Placement arithmetic for the affinity policies: rendezvous (highest-random-weight) order and
 * the bounded-load test of consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam,
 * "Consistent Hashing with Bounded Loads", SODA 2018): an origin takes a request only while
 * `load + 1 ≤ ⌈(1+ε) · (total + 1) · w⌉`, w its share of the capacity. Pure.
 *
 * One change for tiny loads: an origin carrying fewer than `⌈ε · capacity⌉` requests in flight is
 * never over its share (`idleFloor`). With four idle pools the plain bound is 1, so a second
 * concurrent request of the same conversation would leave its cache for nothing; an origin that is
 * nearly idle is not overloaded (SGLang's cache-aware balancer has an absolute threshold for the
 * same reason).
 */

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
