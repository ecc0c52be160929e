/**
 * OpenAI's `prompt_cache_key` (https://platform.openai.com/docs/guides/prompt-caching): requests
 * with the same key and prefix are routed to the same cache machine. We derive it from the tenant
 * and the prefix anchor, so one tenant's requests sharing a system prompt meet in one cache and
 * two tenants never share a key. OpenAI notes a prefix-key pair past ~15 requests a minute
 * overflows to more machines; a hotter prefix is sharded over `ceil(rate / rpm)` keys, a session
 * keeping its shard.
 */
import { stringKey } from "./placement";

/** Uses of an anchor in the current and the previous minute: a sliding estimate of its rate. */
interface Rate {
  minute: number;
  current: number;
  previous: number;
}

/** Anchors tracked per isolate at most; past it, the one first tracked is dropped. */
const MAX_TRACKED = 10_000;

export class PromptCacheKeys {
  private readonly rates = new Map<string, Rate>();

  /**
   * The key for one request, counting it.
   * @example
   * keys.keyFor("acme", anchor, sessionKey, 15, Date.now()) // "tr-1f3a…"
   */
  keyFor(tenant: string, anchor: number, sessionKey: number | null, rpm: number, now: number): string {
    const id = stringKey(`${tenant}\u0000${anchor}`).toString(36);
    const minute = Math.floor(now / 60_000);
    let rate = this.rates.get(id);
    if (!rate) {
      if (this.rates.size >= MAX_TRACKED) this.rates.delete(this.rates.keys().next().value!);
      rate = { minute, current: 0, previous: 0 };
      this.rates.set(id, rate);
    } else if (rate.minute !== minute) {
      rate.previous = rate.minute === minute - 1 ? rate.current : 0;
      rate.current = 0;
      rate.minute = minute;
    }
    rate.current++;
    // The previous minute weighted by how much of it still lies in the last 60 s.
    const estimate = rate.current + rate.previous * (1 - (now % 60_000) / 60_000);
    const shards = Math.max(1, Math.ceil(estimate / rpm));
    if (shards === 1) return `tr-${id}`;
    const shard = (sessionKey ?? rate.current) % shards;
    return `tr-${id}-${shard}`;
  }
}
