/**
 * The simulator's configuration: zod schemas with defaults everywhere, so `{ origins: { a: {} } }`
 * is a complete configuration. Types are inferred from the schemas.
 */
import { z } from "zod";
import { DayProfileSchema } from "./day-profile";
import { PROFILES, PROFILE_SPECS } from "./profiles";
import { VirtualClockSchema } from "./virtual-clock";

/** One simulated origin (a MaaS API or a self-hosted pool). Unknown keys are rejected to catch typos. */
export const SimOriginSchema = z
  .strictObject({
    /** Which provider the origin imitates (usage fields, cache granularity). */
    profile: z.enum(PROFILES).default("openai"),
    /** When set, requests must carry `authorization: Bearer <apiKey>`. */
    apiKey: z.string().min(1).optional(),
    /** Listed by `GET /v1/models`; any requested model is accepted and echoed back regardless. */
    models: z.array(z.string().min(1)).min(1).default(["sim-model"]),
    /** Fixed part of the time to first token. */
    ttftBaseMs: z.number().nonnegative().default(0),
    /** Prefill cost: TTFT grows by this much per UNCACHED prompt token. */
    prefillMsPerToken: z.number().nonnegative().default(0),
    /**
     * Prefills served at once; 0 means unlimited. With N > 0, requests queue FIFO for the first
     * free of N slots, each holding its slot for `ttftBaseMs + uncached × prefillMsPerToken`, so
     * the TTFT grows by the wait (see `prefill-queue.ts`). A fault's `ttftMs` skips the queue.
     */
    prefillSlots: z.number().int().nonnegative().default(0),
    /** Decode speed; 0 means no delay between tokens. */
    decodeTokensPerSec: z.number().nonnegative().default(0),
    /** Capacity of the prefix cache's LRU, in blocks. */
    cacheBlocks: z.number().int().nonnegative().default(4096),
    /** Tokens per prefix-cache block; defaults by profile (openai 128, deepseek 64, vllm 16). */
    blockTokens: z.number().int().positive().optional(),
    /** Cached tokens below this are reported as 0; defaults by profile (openai 1024, deepseek 64, vllm 16). */
    minCachedTokens: z.number().int().nonnegative().optional(),
    /** Length of embedding vectors unless the request asks for `dimensions`. */
    embeddingDims: z.number().int().positive().default(16),
    /** Latency and availability by hour of the (virtual) day; see `day-profile.ts`. */
    dayProfile: DayProfileSchema.optional(),
  })
  .transform((o) => ({
    ...o,
    blockTokens: o.blockTokens ?? PROFILE_SPECS[o.profile].blockTokens,
    minCachedTokens: o.minCachedTokens ?? PROFILE_SPECS[o.profile].minCachedTokens,
  }));

/** The whole simulator: named origins plus the size of the request recorder's ring. */
export const SimOptionsSchema = z.strictObject({
  /** Origins by name; each is served under `/<name>/v1/...`. */
  // A name is one path segment, and `_sim` is the control namespace.
  origins: z.record(z.string().regex(/^(?!_sim$)[^/]+$/, "an origin name is one path segment, not _sim"), SimOriginSchema),
  /** How many requests the recorder keeps (oldest dropped first). */
  recordLimit: z.number().int().nonnegative().default(1000),
  /** The virtual clock that day profiles follow (a benchmark's compressed day); absent: the real one. */
  clock: VirtualClockSchema.optional(),
});

/** Origin configuration as written by a caller (defaults optional). */
export type SimOrigin = z.input<typeof SimOriginSchema>;
/** Origin configuration after defaults are applied. */
export type ResolvedSimOrigin = z.output<typeof SimOriginSchema>;
/** Simulator configuration as written by a caller (defaults optional). */
export type SimOptions = z.input<typeof SimOptionsSchema>;
/** Simulator configuration after defaults are applied. */
export type ResolvedSimOptions = z.output<typeof SimOptionsSchema>;
