/**
 * The origins of the local demo: two MaaS APIs and one self-hosted vLLM pool, paced so a human can
 * watch tokens arrive and see prefix caching shorten the time to first token.
 */
import type { SimOptions, SimOrigin } from "./options";

/** API key `maas-alpha` requires (the router must inject it; clients never see it). */
export const DEMO_ALPHA_API_KEY = "sk-sim-alpha";
/** API key `maas-beta` requires. */
export const DEMO_BETA_API_KEY = "sk-sim-beta";

/**
 * The demo's three origins. `pool-local` needs no key, as a vLLM pool inside one's own network
 * often does not; it has the fastest TTFT and decode, and the smallest cache.
 */
export const demoSimOptions: SimOptions = {
  origins: {
    "maas-alpha": {
      profile: "openai",
      apiKey: DEMO_ALPHA_API_KEY,
      models: ["gpt-4o-mini", "gpt-4o"],
      ttftBaseMs: 200,
      prefillMsPerToken: 0.05,
      decodeTokensPerSec: 60,
    },
    "maas-beta": {
      profile: "deepseek",
      apiKey: DEMO_BETA_API_KEY,
      models: ["deepseek-chat", "deepseek-reasoner"],
      ttftBaseMs: 250,
      prefillMsPerToken: 0.04,
      decodeTokensPerSec: 40,
    },
    "pool-local": {
      profile: "vllm",
      models: ["llama-3.1-8b-instruct"],
      ttftBaseMs: 100,
      prefillMsPerToken: 0.02,
      decodeTokensPerSec: 120,
      cacheBlocks: 2048,
    },
  },
};

/**
 * A copy of `options` with every delay zeroed (TTFT, prefill and decode), for tests and benchmarks.
 * @example
 * createSimulator(zeroLatency(demoSimOptions))
 */
export function zeroLatency(options: SimOptions): SimOptions {
  const origins: Record<string, SimOrigin> = {};
  for (const [name, origin] of Object.entries(options.origins)) {
    origins[name] = { ...origin, ttftBaseMs: 0, prefillMsPerToken: 0, decodeTokensPerSec: 0 };
  }
  return { ...options, origins };
}
