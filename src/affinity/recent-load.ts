/**
 * Prompt tokens sent to each origin lately, decayed exponentially (half-life 15 s): a measure of
 * the prefill work and the cache footprint an origin is carrying for this isolate's traffic, which
 * a count of requests in flight (one or two per origin at a time) measures poorly. New
 * conversations go to the origin with less of it among their two rendezvous choices.
 */
const HALF_LIFE_MS = 15_000;

export class RecentLoad {
  private readonly tokens = new Map<string, { value: number; at: number }>();

  /** Adds `tokens` sent to `origin` at `now`. */
  add(origin: string, tokens: number, now: number): void {
    this.tokens.set(origin, { value: this.of(origin, now) + tokens, at: now });
  }

  /** The decayed sum at `now`. */
  of(origin: string, now: number): number {
    const entry = this.tokens.get(origin);
    if (!entry) return 0;
    return entry.value * 2 ** (-Math.max(0, now - entry.at) / HALF_LIFE_MS);
  }
}
