/**
 * Origins that answered 429 or 503 with `Retry-After`, and until when they are skipped (real
 * time). Per isolate: each isolate learns it from its own traffic; origin health shared across
 * isolates is the OriginMonitor's job.
 */

/** The longest `Retry-After` honoured; origins asking for more are retried after this. */
export const MAX_COOLDOWN_MS = 300_000;

export class Cooldowns {
  private readonly until = new Map<string, number>();

  /** Skips `origin` for `seconds` from `now` (at most {@link MAX_COOLDOWN_MS}). */
  coolDown(origin: string, seconds: number, now: number): void {
    this.until.set(origin, now + Math.min(seconds * 1000, MAX_COOLDOWN_MS));
  }

  /** Until when `origin` is skipped, or null when it may be tried (a past cool-down is forgotten). */
  skippedUntil(origin: string, now: number): number | null {
    const until = this.until.get(origin);
    if (until === undefined) return null;
    if (until > now) return until;
    this.until.delete(origin);
    return null;
  }
}
