/**
 * What this isolate sent to each origin lately, decayed exponentially: a count that forgets at a
 * fixed half-life. Two uses (isolate.ts):
 * - prompt tokens (half-life 15 s): the prefill work and cache footprint an origin carries, which
 *   a count of requests in flight (one or two per origin at a time) measures poorly; a new
 *   conversation goes to the origin with less of it among its two rendezvous choices;
 * - requests (half-life 5 s): each origin's share of the traffic, which the fair-share bound of
 *   the affinity policy holds within (1+ε).
 */
export class RecentLoad {
  private readonly values = new Map<string, { value: number; at: number }>();

  constructor(private readonly halfLifeMs: number) {}

  /** Adds `amount` sent to `origin` at `now`. */
  add(origin: string, amount: number, now: number): void {
    this.values.set(origin, { value: this.of(origin, now) + amount, at: now });
  }

  /** The decayed sum at `now`. */
  of(origin: string, now: number): number {
    const entry = this.values.get(origin);
    if (!entry) return 0;
    return entry.value * 2 ** (-Math.max(0, now - entry.at) / this.halfLifeMs);
  }
}
