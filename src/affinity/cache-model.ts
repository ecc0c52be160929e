/**
 * What each origin's prefix cache still holds, as this isolate has filled it: a least-recently-used
 * list of the prompts it sent there, kept within the origin's declared `cache.capacityTokens` (a
 * vLLM pool's "GPU KV cache size", SGLang's `max_total_num_tokens`).
 *
 * The index remembers where a prefix was served, not whether it survived: an origin whose live
 * conversations outgrow its cache evicts the least recently used, and a conversation that returns
 * there after its think time finds less than the index promised, prefills the rest, and evicts the
 * next one (an LRU under a cyclic load larger than itself misses every time). The model catches
 * that before the request is sent: an origin is predicted to reuse no more of a prompt than the
 * model says it still holds, and a conversation it no longer holds half of is placed again, on
 * the one of its two rendezvous origins with more room besides what is in use.
 *
 * In use ("live"): used within the last few pauses between a conversation's turns (8 × the running
 * mean of those pauses, 2 s to 1 h). What conversations that ended or moved elsewhere left behind
 * is room: the cache evicts it first. Judged instead by how long the least recently used entry had
 * been idle, the conversations an overfull origin shed all went to the one origin whose oldest
 * entry was oldest, and overfilled it in turn (measured: one run in three collapsed that way).
 *
 * Granularity is the conversation, not the block: each request touches its conversation (the
 * prompt past its preamble, which the next turn extends, so an entry is replaced by its latest,
 * longest prompt) and then its preamble (tools and system prompt, shared by many conversations).
 * Eviction takes the least recently used entry's tail first and keeps its head, as an engine that
 * frees a request's blocks tail first does (vLLM's KV cache manager). A model that has never seen
 * a conversation at an origin says "unknown" and the index is trusted: after a restart, or for
 * traffic other isolates send, the model knows less, never more.
 */
import type { Fingerprint } from "./fingerprint";

/** Conversations or preambles remembered per origin, held and evicted each. */
const MAX_ENTRIES = 4_096;
/** An entry is live while idle for less than this many typical pauses between a conversation's requests. */
const LIVE_GAPS = 8;
/** The live window before any conversation has come back, and its bounds. */
const DEFAULT_LIVE_MS = 10_000;
const MIN_LIVE_MS = 2_000;
const MAX_LIVE_MS = 3_600_000;
/** Weight of each new pause in the running mean. */
const GAP_ALPHA = 0.05;

interface Entry {
  tokens: number;
  at: number;
}

class OriginCache {
  /** Held prefixes, least recently used first (a Map iterates in insertion order). */
  readonly held = new Map<number, Entry>();
  /** Prefixes evicted, oldest eviction first. */
  readonly evicted = new Map<number, true>();
  total = 0;

  /** Uses prefix `key` (`tokens` long) at `at`; returns when it was used before here, or null. */
  touch(key: number, tokens: number, at: number, capacity: number): number | null {
    const old = this.held.get(key);
    if (old) {
      this.total -= old.tokens;
      this.held.delete(key);
    }
    this.evicted.delete(key);
    this.held.set(key, { tokens, at });
    this.total += tokens;
    // Least recently used first, and of an entry its tail first (an engine frees a request's
    // blocks tail first, so its head, which the next turn needs first, stays longest): the entry
    // at the edge keeps its head. The entry just used stays, even when larger than the cache.
    while (this.held.size > 1 && (this.total > capacity || this.held.size > MAX_ENTRIES)) {
      const [oldest, entry] = this.held.entries().next().value as [number, Entry];
      const excess = this.total - capacity;
      if (this.held.size <= MAX_ENTRIES && entry.tokens > excess) {
        entry.tokens -= excess;
        this.total -= excess;
        break;
      }
      this.held.delete(oldest);
      this.total -= entry.tokens;
      this.evicted.set(oldest, true);
      if (this.evicted.size > MAX_ENTRIES) this.evicted.delete(this.evicted.keys().next().value as number);
    }
    return old ? old.at : null;
  }

  /** The tokens of prefix `key` still held (its head), 0 once evicted, null when never seen. */
  heldTokens(key: number): number | null {
    return this.held.get(key)?.tokens ?? (this.evicted.has(key) ? 0 : null);
  }

  /**
   * The tokens left once `prompt` is in, counting what stale entries (used before `staleBefore`:
   * conversations that ended or moved elsewhere) hold as free: negative when it evicts something
   * still in use.
   */
  room(prompt: PromptParts, capacity: number, staleBefore: number): number {
    // What the prompt adds: all of it, less what is held already (its preamble, an earlier turn).
    let tokens = prompt.promptTokens;
    if (prompt.conversation !== prompt.preamble && this.held.has(prompt.preamble)) tokens -= prompt.preambleTokens;
    tokens -= this.held.get(prompt.conversation)?.tokens ?? 0;
    let stale = 0;
    for (const entry of this.held.values()) {
      if (entry.at >= staleBefore) break;
      stale += entry.tokens;
    }
    return capacity - this.total + stale - Math.max(0, tokens);
  }
}

/** The parts of a prompt the model keeps apart: the shared preamble and the conversation after it. */
export interface PromptParts {
  /** The preamble's anchor and tokens (tools, system prompt). */
  preamble: number;
  preambleTokens: number;
  /** The conversation's anchor and the whole prompt's tokens. */
  conversation: number;
  promptTokens: number;
}

/** A fingerprint's parts. */
export function promptParts(fp: Fingerprint): PromptParts {
  return { preamble: fp.anchor, preambleTokens: fp.preambleTokens, conversation: fp.conversation, promptTokens: fp.promptTokens };
}

export class CacheModel {
  private readonly origins = new Map<string, OriginCache>();
  /** Running mean of the pause between a conversation's requests at one origin (ms), or null. */
  private gapMs: number | null = null;

  /** Records that `prompt` was sent to `origin` (whose cache holds `capacityTokens`) at `now`. */
  sent(origin: string, capacityTokens: number, prompt: PromptParts, now: number): void {
    let cache = this.origins.get(origin);
    if (!cache) this.origins.set(origin, (cache = new OriginCache()));
    if (prompt.conversation === prompt.preamble) {
      this.pause(cache.touch(prompt.preamble, prompt.promptTokens, now, capacityTokens), now);
      return;
    }
    // The conversation first, the preamble last: the shared head is the most recently used, as an
    // engine that frees a request's blocks tail first keeps it.
    this.pause(cache.touch(prompt.conversation, Math.max(0, prompt.promptTokens - prompt.preambleTokens), now, capacityTokens), now);
    cache.touch(prompt.preamble, prompt.preambleTokens, now, capacityTokens);
  }

  private pause(before: number | null, now: number): void {
    if (before === null) return;
    const gap = Math.max(0, now - before);
    this.gapMs = this.gapMs === null ? gap : this.gapMs + GAP_ALPHA * (gap - this.gapMs);
  }

  /** How long an entry stays live unused: several typical pauses between a conversation's requests. */
  liveWindowMs(): number {
    if (this.gapMs === null) return DEFAULT_LIVE_MS;
    return Math.min(MAX_LIVE_MS, Math.max(MIN_LIVE_MS, LIVE_GAPS * this.gapMs));
  }

  /** How many tokens of the prefix named `key` `origin` still holds (0: evicted), or null when this isolate never sent it there. */
  heldTokens(origin: string, key: number): number | null {
    return this.origins.get(origin)?.heldTokens(key) ?? null;
  }

  /**
   * How much of `prompt` `origin` still holds from its start, or null when this isolate does not
   * know (never sent this conversation there): the preamble, then what is left of the conversation.
   */
  reach(origin: string, prompt: PromptParts): number | null {
    const conversation = this.heldTokens(origin, prompt.conversation);
    if (conversation === null) return null;
    if (prompt.conversation === prompt.preamble) return conversation;
    // Past a preamble cut short, nothing is reachable: a prefix cache matches from the start.
    const preamble = this.heldTokens(origin, prompt.preamble) ?? prompt.preambleTokens;
    return preamble < prompt.preambleTokens ? preamble : prompt.preambleTokens + conversation;
  }

  /**
   * The room `origin` has for `prompt` at `now`: the tokens left once it is in, counting what
   * entries idle past the live window hold as free (negative: it evicts something in use).
   */
  room(origin: string, prompt: PromptParts, capacityTokens: number, now: number): number {
    return this.origins.get(origin)?.room(prompt, capacityTokens, now - this.liveWindowMs()) ?? capacityTokens - prompt.promptTokens;
  }
}
