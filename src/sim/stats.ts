/**
 * Per-origin counters of the chat completions served, read by `GET /_sim/stats` so a benchmark can
 * see what each origin did (how much it prefilled, how much its cache saved, how long requests
 * queued) without parsing every response.
 */

/** One origin's counters, as `GET /_sim/stats` reports them. */
export interface OriginStatsSnapshot {
  /** Chat requests that reached planning (valid, not refused, not answered by a status fault). */
  requests: number;
  /** Sum of their `prompt_tokens`. */
  promptTokens: number;
  /** Sum of their reported `cached_tokens`. */
  cachedTokens: number;
  /** Sum of their planned completion tokens (counted at planning, even if the answer is cut). */
  completionTokens: number;
  /** Time spent waiting for a prefill slot, in ms: the sum and the longest single wait. */
  queueWaitMs: { total: number; max: number };
  /** Chat requests whose answer is still being produced. */
  inFlight: number;
  /** Blocks the origin's prefix cache holds now. */
  cacheBlocks: number;
}

/** What planning one chat completion adds to the counters. */
export interface PlannedChat {
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  queueWaitMs: number;
}

/** Counters of one origin. */
export class OriginStats {
  private requests = 0;
  private promptTokens = 0;
  private cachedTokens = 0;
  private completionTokens = 0;
  private queueWaitTotal = 0;
  private queueWaitMax = 0;
  private inFlight = 0;

  /** Counts a planned chat completion. */
  recordPlan(plan: PlannedChat): void {
    this.requests++;
    this.promptTokens += plan.promptTokens;
    this.cachedTokens += plan.cachedTokens;
    this.completionTokens += plan.completionTokens;
    this.queueWaitTotal += plan.queueWaitMs;
    this.queueWaitMax = Math.max(this.queueWaitMax, plan.queueWaitMs);
  }

  /**
   * Marks one answer as in flight; returns the function that ends it. Ending is idempotent because
   * several paths may report the same end (the body closes, errors or is cancelled, and the client's
   * abort fires too); only the first counts.
   */
  begin(): () => void {
    this.inFlight++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight--;
    };
  }

  /**
   * Zeroes the counters. `inFlight` is left alone: it is a gauge of answers still running, not a
   * count since the last reset, and those answers will still end (and decrement it) later.
   */
  reset(): void {
    this.requests = 0;
    this.promptTokens = 0;
    this.cachedTokens = 0;
    this.completionTokens = 0;
    this.queueWaitTotal = 0;
    this.queueWaitMax = 0;
  }

  /** The counters as JSON-ready data, with the cache's current size. */
  snapshot(cacheBlocks: number): OriginStatsSnapshot {
    return {
      requests: this.requests,
      promptTokens: this.promptTokens,
      cachedTokens: this.cachedTokens,
      completionTokens: this.completionTokens,
      queueWaitMs: { total: this.queueWaitTotal, max: this.queueWaitMax },
      inFlight: this.inFlight,
      cacheBlocks,
    };
  }
}
