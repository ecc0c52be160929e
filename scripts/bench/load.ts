/**
 * One load run with autocannon: a fixed request, N keep-alive connections, for a duration (or a
 * number of requests). Latency is kept per response at sub-millisecond precision from
 * autocannon's `response` event: its own histogram rounds to whole milliseconds, too coarse for
 * a router whose budget is a fraction of one. A response's time runs from the request's first
 * byte written to the response's last byte read, so a stream counts in full.
 */
import autocannon from "autocannon";

/** The request a run repeats. */
export interface LoadRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface LoadOptions {
  connections: number;
  /** Seconds; ignored when `amount` is set. */
  durationSeconds: number;
  /** Stop after this many requests instead (smoke runs). */
  amount?: number;
  /** A response slower than this counts as an error (default 10 s). */
  timeoutSeconds?: number;
}

export interface LoadResult {
  /** 2xx responses. */
  ok: number;
  /** Responses with another status. */
  non2xx: number;
  /** Those responses by status code. */
  otherStatuses: Record<number, number>;
  /** Connection errors and timeouts. */
  errors: number;
  /** From the start to the last response. */
  seconds: number;
  /** Milliseconds, one per 2xx response. */
  latenciesMs: number[];
}

/**
 * Runs the load and resolves with what came back.
 * @example
 * const r = await runLoad({ url, headers: {}, body: "{}" }, { connections: 1, durationSeconds: 2 });
 * console.log(r.ok / r.seconds, "req/s");
 */
export function runLoad(request: LoadRequest, options: LoadOptions): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  const otherStatuses: Record<number, number> = {};
  let non2xx = 0;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // Until the last response, not until autocannon notices it is done (its next sample tick).
    let last = started;
    const instance = autocannon(
      {
        url: request.url,
        method: "POST",
        headers: { "content-type": "application/json", ...request.headers },
        body: request.body,
        connections: options.connections,
        pipelining: 1,
        timeout: options.timeoutSeconds ?? 10,
        // How often it checks whether to stop; its default, 1 s, would pad every short run.
        sampleInt: 100,
        ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.durationSeconds }),
      },
      (err: unknown, result: autocannon.Result) => {
        if (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        resolve({ ok: latenciesMs.length, non2xx, otherStatuses, errors: result.errors, seconds: (last - started) / 1000, latenciesMs });
      },
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      last = performance.now();
      if (statusCode >= 200 && statusCode < 300) latenciesMs.push(responseTime);
      else {
        non2xx++;
        otherStatuses[statusCode] = (otherStatuses[statusCode] ?? 0) + 1;
      }
    });
  });
}

/**
 * The p-th percentile (0-100) of `sorted` by nearest rank, or NaN when it is empty.
 * @example
 * percentile([1, 2, 3, 4], 50); // 2
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}
