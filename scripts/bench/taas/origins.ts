/**
 * The origins of the benchmark's day, router side (config) and simulator side (behaviour), in one
 * place so the two cannot drift apart. Every policy sees the same origins: windows, capacities,
 * prices and timeouts are facts about an origin, not a policy.
 *
 * - pool: our self-hosted vLLM pool. Cheapest per token (amortised GPUs), fixed capacity (2
 *   prefill slots, router capacity 8), reserved for interactive traffic 09:00-18:00 UTC, closed for
 *   maintenance 03:00-04:00.
 * - maas-lowcost: a DeepSeek-style API, about half the premium's price, half again off-peak
 *   (16:30-00:30 UTC, DeepSeek's own window). Busy in its own daytime: the median fixed TTFT
 *   rises to 3× around 11:00-13:00 UTC, and its lognormal σ from 0.15 to 0.85 (p99/p50 ≈ 7).
 * - maas-premium: an OpenAI-style API serving the same model: dearest, steady (σ 0.12) until a
 *   20-minute brown-out at 12:00-12:20 UTC: 30 % of requests get a 503, the rest a first token
 *   1.5-6 s late (past the 4 s first-byte timeout for about half of those).
 */
import type { RouterConfigInput } from "../../../src/config/schema";
import type { SimOptions, SimOrigin } from "../../../src/sim/options";

/** The model every origin serves, under this name. */
export const UPSTREAM_MODEL = "llama-3.3-70b-instruct";
export const ORIGINS = ["pool", "maas-lowcost", "maas-premium"] as const;
export type OriginName = (typeof ORIGINS)[number];

/** API keys the simulated MaaS origins require; the router injects them from its secrets. */
export const ORIGIN_SECRETS: Readonly<Record<string, string>> = {
  MAAS_LOWCOST_API_KEY: "sk-sim-lowcost",
  MAAS_PREMIUM_API_KEY: "sk-sim-premium",
};

/** Real milliseconds: latencies and timeouts are not compressed with the day. */
const TIMEOUTS = { firstByteMs: 4000, totalMs: 45_000 };

/** The pool's simulated timing: what its utilisation is computed from. */
export const POOL_TIMING = { ttftBaseMs: 60, prefillMsPerToken: 0.1, prefillSlots: 2 };

/** Windows, UTC, as the router's config spells them. */
export const POOL_RESERVED = { from: "09:00", to: "18:00" } as const;
export const POOL_MAINTENANCE = { from: "03:00", to: "04:00" } as const;
export const LOWCOST_DISCOUNT = { from: "16:30", to: "00:30", multiplier: 0.5 } as const;
export const PREMIUM_BROWNOUT = { from: "12:00", to: "12:20" } as const;

/** The router's `origins` section (input form: USD per million tokens). */
export function routerOrigins(simUrl: string): RouterConfigInput["origins"] {
  return {
    pool: {
      baseUrl: `${simUrl}/pool/v1`,
      provider: "vllm",
      kind: "self-hosted",
      region: "eu",
      capacity: 8,
      expectedTtftMs: 250,
      timeouts: TIMEOUTS,
      pricing: { input: 0.08, cachedInput: 0.02, output: 0.3 },
      windows: [
        { ...POOL_RESERVED, reservedFor: ["interactive"] },
        { ...POOL_MAINTENANCE, closed: true },
      ],
    },
    "maas-lowcost": {
      baseUrl: `${simUrl}/maas-lowcost/v1`,
      provider: "deepseek",
      apiKeySecret: "MAAS_LOWCOST_API_KEY",
      expectedTtftMs: 400,
      timeouts: TIMEOUTS,
      pricing: { input: 0.27, cachedInput: 0.07, output: 1.1, windows: [LOWCOST_DISCOUNT] },
    },
    "maas-premium": {
      baseUrl: `${simUrl}/maas-premium/v1`,
      provider: "openai",
      apiKeySecret: "MAAS_PREMIUM_API_KEY",
      expectedTtftMs: 500,
      timeouts: TIMEOUTS,
      pricing: { input: 0.6, cachedInput: 0.15, output: 2.4 },
    },
  };
}

const hourly = (f: (hour: number) => number) => Array.from({ length: 24 }, (_, h) => Math.round(f(h) * 100) / 100);
/** A bump centred on 12:00 UTC, 1 at night, `peak` at noon. */
const daytime = (night: number, peak: number) => hourly((h) => night + (peak - night) * Math.max(0, Math.cos(((h + 0.5 - 12) / 12) * Math.PI * 1.25)) ** 2);

/** The simulator's origins, following the same virtual clock as the router. */
export function simOrigins(seed: number): Record<OriginName, SimOrigin> {
  return {
    pool: {
      profile: "vllm",
      models: [UPSTREAM_MODEL],
      ...POOL_TIMING,
      decodeTokensPerSec: 80,
      dayProfile: { maintenance: [POOL_MAINTENANCE], seed },
    },
    "maas-lowcost": {
      profile: "deepseek",
      apiKey: ORIGIN_SECRETS.MAAS_LOWCOST_API_KEY,
      models: [UPSTREAM_MODEL],
      ttftBaseMs: 280,
      prefillMsPerToken: 0.03,
      decodeTokensPerSec: 50,
      dayProfile: { ttftMultiplier: daytime(1, 3), jitterSigma: daytime(0.15, 0.85), seed },
    },
    "maas-premium": {
      profile: "openai",
      apiKey: ORIGIN_SECRETS.MAAS_PREMIUM_API_KEY,
      models: [UPSTREAM_MODEL],
      ttftBaseMs: 420,
      prefillMsPerToken: 0.02,
      decodeTokensPerSec: 70,
      dayProfile: {
        jitterSigma: hourly(() => 0.12),
        brownouts: [{ ...PREMIUM_BROWNOUT, errorShare: 0.3, status: 503, slowMs: [1500, 6000] }],
        seed,
      },
    },
  };
}

export type { SimOptions };
