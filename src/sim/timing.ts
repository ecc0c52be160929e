/**
 * Waiting that always ends: every simulated delay or hang takes the request's lifetime signal, so a
 * client that goes away (or a test that aborts) never leaves a timer or a pending promise behind.
 */

/** The reason a wait ended early. */
function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The request was aborted", "AbortError");
}

/**
 * Resolves after `ms` milliseconds, or rejects with the signal's reason as soon as it aborts.
 * Zero or negative delays resolve without a timer, which keeps zero-latency runs fast.
 * @example
 * await sleep(100, request.signal);
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Never resolves; rejects with the signal's reason when it aborts (a hang that ends with the client). */
export function untilAborted(signal: AbortSignal): Promise<never> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise((_, reject) => {
    signal.addEventListener("abort", () => reject(abortReason(signal)), { once: true });
  });
}

/** Milliseconds between two decoded tokens; 0 when the speed is 0 (no delay). */
export function tokenIntervalMs(decodeTokensPerSec: number): number {
  return decodeTokensPerSec > 0 ? 1000 / decodeTokensPerSec : 0;
}
