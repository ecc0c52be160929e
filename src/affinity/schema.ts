/**
 * The affinity parts of the config: how an origin's prompt cache behaves (what it can reuse, for
 * how long) and how a scenario places requests. Merged into `config/schema.ts`.
 */
import { z } from "zod";

/**
 * An origin's prompt cache. Absent fields come from its provider's profile (`config/providers.ts`):
 * OpenAI reuses nothing below 1,024 tokens, then 128-token steps; vLLM and SGLang 16-token blocks.
 */
export const originCacheSchema = z
  .object({
    /** How long a prefix stays usable after its last use (OpenAI: 5-10 minutes of inactivity). */
    ttlSeconds: z.number().int().min(0).max(30 * 86_400).optional(),
    /** Fewer matched tokens than this are not reused at all. */
    minTokens: z.number().int().min(0).max(1_000_000).optional(),
    /** Reuse comes in steps of this many tokens (a KV block, a provider's increment). */
    stepTokens: z.number().int().min(1).max(100_000).optional(),
    /**
     * The tokens its KV cache holds (vLLM logs "GPU KV cache size: N tokens"; SGLang calls it
     * `max_total_num_tokens`). With it, placement models what the cache still holds and places a
     * conversation it has evicted again, where the cache has room (affinity/cache-model.ts).
     */
    capacityTokens: z.number().int().min(1).max(1_000_000_000).optional(),
  })
  .strict();

/** How a scenario orders the candidates that pass its rules. */
export const AFFINITY_POLICIES = ["affinity", "round-robin", "least-loaded", "session-hash"] as const;
export type AffinityPolicy = (typeof AFFINITY_POLICIES)[number];

export const scenarioAffinitySchema = z
  .object({
    /**
     * `affinity` (default): the score decides, with the expected saving of each origin's cached
     * prefix in it; among candidates scored alike, a cached prefix of half the prompt or more wins,
     * then rendezvous order on the conversation's anchor; an origin past (1+ε) of its fair share
     * goes last (spills).
     * `round-robin`, `least-loaded` (in flight / capacity) and `session-hash` (rendezvous on the
     * request's `user`) are the classic policies, kept for comparison.
     */
    policy: z.enum(AFFINITY_POLICIES).default("affinity"),
    /** Bounded load: an origin takes sticky traffic while its load is within (1+ε) of its fair share. */
    epsilon: z.number().min(0).max(10).default(0.25),
    /**
     * OpenAI-style origins get `prompt_cache_key: "tr-<anchor>"` unless the request has one. A
     * prefix sent more often than this per minute is sharded over several keys (OpenAI advises
     * staying near 15 requests a minute per prefix and key).
     */
    promptCacheKeyRpm: z.number().int().min(1).max(100_000).default(15),
  })
  .strict();
export type ScenarioAffinity = z.infer<typeof scenarioAffinitySchema>;
