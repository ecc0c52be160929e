/**
 * OpenAI's rate-limit headers (https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers):
 * `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, where reset is a duration such as
 * `1s`, `6m0s` or `20ms`.
 */
import type { RateLimitState, RateWindow } from "../ledger/types";

/** A duration the way OpenAI writes it: `20ms`, `1.5s`, `6m0s`. */
export function formatReset(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole < 1000) return `${whole}ms`;
  if (whole < 60_000) return `${Number((whole / 1000).toFixed(3))}s`;
  const minutes = Math.floor(whole / 60_000);
  return `${minutes}m${Math.round((whole % 60_000) / 1000)}s`;
}

/** Sets the headers of each limited dimension on `headers`. */
export function setRateLimitHeaders(headers: Headers, state: RateLimitState): void {
  const put = (name: "requests" | "tokens", w: RateWindow | null) => {
    if (!w) return;
    headers.set(`x-ratelimit-limit-${name}`, String(w.limit));
    headers.set(`x-ratelimit-remaining-${name}`, String(w.remaining));
    headers.set(`x-ratelimit-reset-${name}`, formatReset(w.resetMs));
  };
  put("requests", state.requests);
  put("tokens", state.tokens);
}
