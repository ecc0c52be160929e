/**
 * What the trace allows at best, computed the way the simulator caches (src/sim/prefix-cache.ts):
 * each prompt is rendered as the origin sees it (`renderChatPrompt`, with the model name the
 * origin receives) and cut into chained hashes of full 16-token blocks (vLLM's block size).
 *
 * - Ideal hit rate: one origin with an unbounded cache serving the whole trace in order. A
 *   request's cached tokens are its leading blocks that an earlier request already sent
 *   (× 16, 0 below the 16-token minimum, at most prompt − 1, as the simulator reports them);
 *   the rate is Σ cached / Σ prompt tokens. No router can beat it: it pays only the first
 *   occurrence of every block.
 * - Working set: the distinct blocks the trace references within a sliding window of
 *   `windowMs`, averaged over the requests after the first window (`meanBlocks`; the peak is
 *   reported too). The benchmark takes one mean think time as the window: then the working set
 *   is about the live prompt state of the sessions in flight (each sends about one turn per
 *   window), shared prefixes included. An LRU evicts a block only after `capacity` other
 *   distinct blocks were touched since its last use, so if the K caches together hold it with
 *   room to spare (the benchmark sizes them so it is 75 % of their sum), a policy that
 *   partitions sessions among origins keeps each session's prefix from one turn to the next,
 *   while a policy that sends every session everywhere needs K× that room and thrashes: a
 *   session's blocks survive on an origin it left only if it returns within a turn or so.
 */
import { blockHashes } from "../../../src/sim/prefix-cache";
import { renderChatPrompt, tokensForBytes, utf8 } from "../../../src/sim/tokens";
import type { Trace } from "./workload";

/** vLLM's prefix-cache block (the simulator's `vllm` profile). */
export const BLOCK_TOKENS = 16;
/** The simulator's `vllm` minimum: fewer cached tokens are reported as 0. */
export const MIN_CACHED_TOKENS = 16;

/** One request's prompt as an origin's cache sees it. */
export interface PromptBlocks {
  promptTokens: number;
  /** Chained hashes of its full blocks, head first. */
  hashes: string[];
}

/** The blocks of every entry of a trace (same order), rendered with the model name the origin receives. */
export function promptBlocks(trace: Trace, upstreamModel: string): PromptBlocks[] {
  return trace.entries.map((e) => {
    const rendering = utf8(renderChatPrompt({ model: upstreamModel, messages: e.body.messages, tools: e.body.tools }));
    return { promptTokens: tokensForBytes(rendering.byteLength), hashes: blockHashes(rendering, BLOCK_TOKENS) };
  });
}

/** Cached tokens as the simulator reports them for `matched` leading blocks. */
export function reportedCached(matched: number, promptTokens: number): number {
  const cached = matched * BLOCK_TOKENS;
  if (cached < MIN_CACHED_TOKENS) return 0;
  return Math.max(0, Math.min(cached, promptTokens - 1));
}

export interface HitRate {
  promptTokens: number;
  cachedTokens: number;
  /** cachedTokens / promptTokens. */
  rate: number;
}

/** The ideal hit rate: one unbounded cache, the trace in order, token-weighted. */
export function idealHitRate(blocks: readonly PromptBlocks[]): HitRate {
  const seen = new Set<string>();
  let prompt = 0;
  let cached = 0;
  for (const b of blocks) {
    let matched = 0;
    while (matched < b.hashes.length && seen.has(b.hashes[matched]!)) matched++;
    for (const h of b.hashes) seen.add(h);
    prompt += b.promptTokens;
    cached += reportedCached(matched, b.promptTokens);
  }
  return { promptTokens: prompt, cachedTokens: cached, rate: prompt > 0 ? cached / prompt : 0 };
}

export interface WorkingSet {
  windowMs: number;
  /** Most distinct blocks referenced within any window ending at a request. */
  peakBlocks: number;
  /** Mean of the same over the requests after the first window (what the benchmark sizes caches from). */
  meanBlocks: number;
  /** Distinct blocks in the whole trace. */
  totalBlocks: number;
}

/** Distinct blocks referenced in a sliding window of `windowMs` (see the file header). */
export function workingSet(trace: Trace, blocks: readonly PromptBlocks[], windowMs: number): WorkingSet {
  const entries = trace.entries;
  const counts = new Map<string, number>();
  const all = new Set<string>();
  let tail = 0;
  let peak = 0;
  let sum = 0;
  let samples = 0;
  for (let i = 0; i < entries.length; i++) {
    const at = entries[i]!.at;
    for (const h of blocks[i]!.hashes) {
      counts.set(h, (counts.get(h) ?? 0) + 1);
      all.add(h);
    }
    while (entries[tail]!.at <= at - windowMs) {
      for (const h of blocks[tail]!.hashes) {
        const n = counts.get(h)! - 1;
        if (n === 0) counts.delete(h);
        else counts.set(h, n);
      }
      tail++;
    }
    peak = Math.max(peak, counts.size);
    if (at >= windowMs) {
      sum += counts.size;
      samples++;
    }
  }
  return { windowMs, peakBlocks: peak, meanBlocks: samples > 0 ? Math.round(sum / samples) : peak, totalBlocks: all.size };
}
