/**
 * Failed authentications per client address (issue #12, item 1: 3,000 wrong admin tokens in 1.3 s
 * all got plain 401s). A token bucket per address: `burst` failures at once, refilled at
 * `perMinute`. An address whose bucket is empty is refused with 429 before its credential is
 * checked, so guessing slows to the refill rate.
 *
 * The buckets live in the isolate's memory: at the edge an attacker spread over many isolates and
 * colos meets many buckets (Cloudflare's WAF rate-limiting rules are the tool there); on premise, one
 * `workerd serve` process is one isolate, and the bound is exact.
 */

export interface FailureLimitOptions {
  /** Failures an address may make at once. */
  burst: number;
  /** Failures per minute it gets back. */
  perMinute: number;
}

/** How many addresses are remembered; past it the least recently failing goes (it had refilled the longest). */
const MAX_ADDRESSES = 10_000;

export class FailureLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly options: FailureLimitOptions) {}

  private level(address: string, now: number): number {
    const b = this.buckets.get(address);
    if (!b) return this.options.burst;
    const level = b.tokens + ((now - b.at) * this.options.perMinute) / 60_000;
    if (level < this.options.burst) return level;
    // Refilled: as if it had never failed, so an idle limiter holds no bucket at all.
    this.buckets.delete(address);
    return this.options.burst;
  }

  /**
   * Seconds until the address may try again, or 0 when it may now. A function for `address` is
   * called only when some address is being slowed: reading a client's address (`request.cf`) is
   * not free, and most requests meet a limiter with nobody in it.
   */
  retryAfterSeconds(address: string | (() => string), now: number): number {
    const level = this.buckets.size === 0 ? this.options.burst : this.level(typeof address === "string" ? address : address(), now);
    return level >= 1 ? 0 : Math.ceil(((1 - level) * 60) / this.options.perMinute);
  }

  /** Counts a failed authentication from the address. */
  fail(address: string, now: number): void {
    const tokens = Math.max(0, this.level(address, now) - 1);
    this.buckets.delete(address);
    this.buckets.set(address, { tokens, at: now });
    if (this.buckets.size > MAX_ADDRESSES) this.buckets.delete(this.buckets.keys().next().value!);
  }
}

/**
 * The client's address, as far as the router can trust it:
 * - where Cloudflare received the request (its `cf.colo`: at the edge, and under `wrangler dev`,
 *   whose made-up `cf` has one too), `cf-connecting-ip`, which Cloudflare sets and overwrites
 *   whatever a client sent;
 * - off the edge behind a proxy, the header the config names. Its last entry: the address the
 *   nearest proxy saw, which appends it after anything the client sent (`x-forwarded-for`), or
 *   sets it alone;
 * - on bare `workerd` with no proxy, the connection's own peer: workerd gives every request a
 *   `cf` of `{clientIp: "host:port"}` and nothing else, so there a client's own `cf-connecting-ip`
 *   is only a header like any other, never an address;
 * - else one address for all, "unknown": a flood of failures then slows everyone's failed
 *   attempts.
 */
export function clientAddress(request: Request, header: string | null): string {
  const cf = request.cf as { colo?: unknown; clientIp?: unknown } | undefined;
  if (typeof cf?.colo === "string") return bucketOf(request.headers.get("cf-connecting-ip") ?? "unknown");
  if (header) return bucketOf(request.headers.get(header)?.split(",").at(-1)?.trim() || "unknown");
  if (typeof cf?.clientIp === "string") return bucketOf(peerHost(cf.clientIp));
  return "unknown";
}

/**
 * Whose failures an address's are: an IPv4 address's own; an IPv6 address's /64, which is one
 * subscriber's (providers hand out at least that much), so a guesser walking its 2^64 addresses
 * gets one bucket, not one per guess. Anything else (a name, "unknown", a malformed address) is
 * its own bucket.
 * @example
 * bucketOf("2001:db8:0:1:aaaa::7")   // "2001:db8:0:1::/64"
 * bucketOf("::ffff:192.0.2.1")       // "192.0.2.1"
 */
export function bucketOf(address: string): string {
  if (!address.includes(":")) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  const [head, tail, ...more] = address.split("::");
  if (more.length > 0) return address;
  // An embedded IPv4 tail stands for the last two groups.
  const groups = (part: string) => (part === "" ? [] : part.split(":").flatMap((g) => (g.includes(".") ? ["0", "0"] : [g])));
  const left = groups(head!);
  const right = tail === undefined ? null : groups(tail);
  // "::" stands for as many zero groups as make eight.
  const full = right === null ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  if (full.length !== 8 || !full.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return address;
  return `${full
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}

/**
 * The host of a connection's peer, `host:port` as workerd gives it ("127.0.0.1:59042",
 * "[::1]:59042"; on a dual-stack socket an IPv4 client is "[::ffff:127.0.0.1]:59042", which
 * `bucketOf` reads as the IPv4 address it is). A bare host is returned as it is.
 */
export function peerHost(peer: string): string {
  let host = peer;
  if (peer.startsWith("[")) {
    const end = peer.indexOf("]");
    if (end > 0) host = peer.slice(1, end);
  } else {
    const colon = peer.indexOf(":");
    // One colon: IPv4 (or a name) and a port. More: a bare IPv6 address, which has no port here.
    if (colon > 0 && colon === peer.lastIndexOf(":")) host = peer.slice(0, colon);
  }
  return host;
}
