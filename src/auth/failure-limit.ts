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
  if (typeof cf?.colo === "string") return request.headers.get("cf-connecting-ip") ?? "unknown";
  if (header) return request.headers.get(header)?.split(",").at(-1)?.trim() || "unknown";
  if (typeof cf?.clientIp === "string") return peerHost(cf.clientIp);
  return "unknown";
}

/**
 * The host of a connection's peer, `host:port` as workerd gives it ("127.0.0.1:59042",
 * "[::1]:59042"; on a dual-stack socket an IPv4 client is "[::ffff:127.0.0.1]:59042", read as
 * the IPv4 address it is). A bare host is returned as it is.
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
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(host) ? host.slice(7) : host;
}
