/**
 * Deterministic completion text: the same (model, prompt rendering) always yields the same words,
 * so tests and benchmarks can assert exact outputs without a model.
 *
 * One completion token is one vocabulary word followed by a single space, the last one included,
 * so `content === tokens.join("")` and `completion_tokens === tokens.length`.
 */
import { fnv1a32, mulberry32 } from "./hash";

/** The fixed vocabulary completion words are drawn from (ASCII, so each word is plain bytes). */
export const VOCABULARY: readonly string[] = [
  "the", "router", "token", "cache", "prefix", "origin", "stream", "model", "latency", "budget",
  "worker", "edge", "request", "reply", "quick", "brown", "fox", "jumps", "over", "lazy",
  "dog", "alpha", "beta", "gamma", "delta", "simulated", "answer", "is", "a", "of",
  "and", "to", "in", "fast", "slow", "block", "hash", "chain", "pool", "queue",
];

/** Completion tokens when nothing caps them: 8 + (seed mod 25), i.e. 8 to 32. */
export function defaultCompletionLength(seed: number): number {
  return 8 + (seed % 25);
}

/** A generated completion. */
export interface Completion {
  /** Each token is a word plus one trailing space. */
  tokens: string[];
  /** "length" when the cap cut the completion short, else "stop". */
  finishReason: "stop" | "length";
}

/** The seed of a prompt: 32-bit FNV-1a of its UTF-8 rendering (which starts with the model). */
export function promptSeed(rendering: Uint8Array): number {
  return fnv1a32(rendering);
}

/**
 * Generates the completion for a prompt seed, capped at `maxTokens` when given.
 * @example
 * generateCompletion(promptSeed(utf8("m<|user|>hi")), 3) // { tokens: [3 words], finishReason: "length" } unless the default is ≤ 3
 */
export function generateCompletion(seed: number, maxTokens?: number | null): Completion {
  const natural = defaultCompletionLength(seed);
  const capped = maxTokens != null && maxTokens < natural;
  const count = capped ? maxTokens : natural;
  const next = mulberry32(seed);
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) tokens.push(`${VOCABULARY[Math.floor(next() * VOCABULARY.length)]} `);
  return { tokens, finishReason: capped ? "length" : "stop" };
}
