/**
 * Shadow evals: each shadowed request measured twice, as the client got it (the baseline: the
 * scenario's route, fallback included) and as the candidate answered its copy, and the pairs
 * summarised side by side. Both sides are priced at their origin's list prices at the request's
 * time, so the comparison is of the origins, not of a tenant's discounts. Pure.
 */
import type { Agreement } from "./agreement";

/** One side of a pair. */
export interface EvalSide {
  /** The origin that answered (the baseline's may be a fallback); null when none did. */
  origin: string | null;
  /** A whole answer arrived (a stream ended properly). */
  ok: boolean;
  /** The HTTP status, or why there was none (`timeout`, `connect_error`, `broken`, ...). */
  result: string;
  /** From the first attempt's start to the answer (or its first token, streamed); null without an answer. */
  ttftMs: number | null;
  latencyMs: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  /** Whether the origin reported its prompt cache (vLLM and SGLang do only when told to). */
  cacheReported: boolean;
  costMicros: number;
}

export interface EvalPair {
  requestId: string;
  /** When the request started (the router's clock). */
  at: number;
  /** The migration stage the copy was made in; null for a scenario's own shadow. */
  stage: string | null;
  baseline: EvalSide;
  candidate: EvalSide;
  /** Null when the answers cannot be compared (embeddings, a side failed or broke off, or not a chat completion). */
  agreement: Agreement | null;
}

export interface Distribution {
  /** Nearest-rank percentiles of the values. */
  p50: number;
  p90: number;
  mean: number;
  /** Standard deviation over mean (population); null when the mean is 0. */
  cv: number | null;
}

export interface SideFigures {
  requests: number;
  errors: number;
  errorRate: number;
  /** Over the answers that arrived; null before any. */
  ttftMs: Distribution | null;
  latencyMs: Distribution | null;
  costMicros: {
    total: number;
    /** Total over requests. */
    perRequest: number;
    /** Total over answers that arrived (what an accepted answer costs before feedback); null before any. */
    perAnswer: number | null;
  };
  tokens: { prompt: number; cached: number; completion: number };
  /**
   * Cached over prompt tokens of the answers whose origin reported its cache; null when none did.
   * Measured on this side's own answers: the candidate's cache behaves differently (TTL, block
   * size, what it saw before), so its rate is never taken from the baseline's.
   */
  cacheHitRate: number | null;
}

export interface AgreementFigures {
  /** Pairs whose answers could be compared. */
  compared: number;
  /** Mean similarity over them; null when none. */
  similarity: number | null;
  /** Pairs where either side called a tool, and how many called the same tools with equal arguments. */
  toolCalls: { compared: number; same: number };
  /** Pairs that asked for JSON, and how many answers parsed on each side. */
  json: { compared: number; baselineValid: number; candidateValid: number };
}

export interface EvalSummary {
  samples: number;
  baseline: SideFigures;
  candidate: SideFigures;
  agreement: AgreementFigures;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Nearest-rank percentile of sorted values (p in 0..1). */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/**
 * The distribution of some values, or null when there are none.
 * @example
 * distribution([100, 200, 300, 400]) // { p50: 200, p90: 400, mean: 250, cv: 0.4472 }
 */
export function distribution(values: readonly number[]): Distribution | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((s, x) => s + x, 0) / sorted.length;
  const variance = sorted.reduce((s, x) => s + (x - mean) ** 2, 0) / sorted.length;
  return { p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), mean: round(mean), cv: mean > 0 ? round(Math.sqrt(variance) / mean, 4) : null };
}

function sideFigures(sides: readonly EvalSide[]): SideFigures {
  const answered = sides.filter((s) => s.ok);
  const total = sides.reduce((sum, s) => sum + s.costMicros, 0);
  const reported = answered.filter((s) => s.cacheReported);
  const reportedPrompt = reported.reduce((sum, s) => sum + s.promptTokens, 0);
  return {
    requests: sides.length,
    errors: sides.length - answered.length,
    errorRate: sides.length ? round((sides.length - answered.length) / sides.length, 4) : 0,
    ttftMs: distribution(answered.flatMap((s) => (s.ttftMs === null ? [] : [s.ttftMs]))),
    latencyMs: distribution(answered.map((s) => s.latencyMs)),
    costMicros: { total, perRequest: sides.length ? round(total / sides.length) : 0, perAnswer: answered.length ? round(total / answered.length) : null },
    tokens: {
      prompt: sides.reduce((sum, s) => sum + s.promptTokens, 0),
      cached: sides.reduce((sum, s) => sum + s.cachedTokens, 0),
      completion: sides.reduce((sum, s) => sum + s.completionTokens, 0),
    },
    cacheHitRate: reportedPrompt > 0 ? round(reported.reduce((sum, s) => sum + s.cachedTokens, 0) / reportedPrompt, 4) : null,
  };
}

/** The pairs summarised side by side. */
export function summarizePairs(pairs: readonly EvalPair[]): EvalSummary {
  const compared = pairs.flatMap((p) => (p.agreement ? [p.agreement] : []));
  const calls = compared.filter((a) => a.toolCalls !== null);
  const json = compared.flatMap((a) => (a.json ? [a.json] : []));
  return {
    samples: pairs.length,
    baseline: sideFigures(pairs.map((p) => p.baseline)),
    candidate: sideFigures(pairs.map((p) => p.candidate)),
    agreement: {
      compared: compared.length,
      similarity: compared.length ? round(compared.reduce((s, a) => s + a.similarity, 0) / compared.length, 4) : null,
      toolCalls: { compared: calls.length, same: calls.filter((a) => a.toolCalls).length },
      json: { compared: json.length, baselineValid: json.filter((j) => j.baseline).length, candidateValid: json.filter((j) => j.candidate).length },
    },
  };
}
