/**
 * The ledger's round trip as one isolate sees it (DESIGN §3): how early a lease must ask for the
 * next one so that it arrives before this one runs out. An exponentially weighted average of the
 * isolate's lease and exact-admission calls, each sample clamped to [0, `maxMs`]: one slow call
 * (a cold object, a stalled network) moves it by a fifth at most, and it never exceeds a lease
 * window, past which renewing earlier would not help.
 */
export class RoundTrip {
  private average: number | null = null;

  /** `maxMs` is read at each sample: the lease window, which a config reload may change. */
  constructor(
    private readonly maxMs: () => number,
    private readonly weight = 0.2,
  ) {}

  /** Notes one call's round trip; a negative or non-finite sample (a clock stepped back) is ignored. */
  note(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const sample = Math.min(ms, this.maxMs());
    this.average = this.average === null ? sample : this.average + this.weight * (sample - this.average);
  }

  /** The estimate (ms); 0 before the first call. */
  get ms(): number {
    return this.average ?? 0;
  }
}
