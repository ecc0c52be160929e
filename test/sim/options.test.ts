/** Options: defaults by profile, and the demo configuration. */
import { describe, expect, it } from "vitest";
import { demoSimOptions, SimOptionsSchema, zeroLatency } from "../../src/sim";

describe("options", () => {
  it("an empty origin is complete; block size and cache threshold default by profile", () => {
    const parsed = SimOptionsSchema.parse({
      origins: { o: {}, d: { profile: "deepseek" }, v: { profile: "vllm", blockTokens: 32 } },
    });
    expect(parsed.recordLimit).toBe(1000);
    expect(parsed.origins.o).toEqual({
      profile: "openai",
      models: ["sim-model"],
      ttftBaseMs: 0,
      prefillMsPerToken: 0,
      prefillSlots: 0,
      decodeTokensPerSec: 0,
      cacheBlocks: 4096,
      blockTokens: 128,
      minCachedTokens: 1024,
      embeddingDims: 16,
    });
    expect(parsed.origins.d).toMatchObject({ blockTokens: 64, minCachedTokens: 64 });
    expect(parsed.origins.v).toMatchObject({ blockTokens: 32, minCachedTokens: 16 });
  });

  it("the demo has three origins with human-visible timing; zeroLatency zeroes every delay", () => {
    const demo = SimOptionsSchema.parse(demoSimOptions);
    expect(Object.keys(demo.origins)).toEqual(["maas-alpha", "maas-beta", "pool-local"]);
    expect(demo.origins["maas-beta"]?.profile).toBe("deepseek");
    const fastest = Math.min(...Object.values(demo.origins).map((o) => o.ttftBaseMs));
    expect(demo.origins["pool-local"]?.ttftBaseMs).toBe(fastest);
    for (const o of Object.values(demo.origins)) {
      expect(o.ttftBaseMs).toBeGreaterThanOrEqual(100);
      expect(o.decodeTokensPerSec).toBeGreaterThanOrEqual(40);
    }
    const zero = SimOptionsSchema.parse(zeroLatency(demoSimOptions));
    for (const o of Object.values(zero.origins)) {
      expect([o.ttftBaseMs, o.prefillMsPerToken, o.decodeTokensPerSec]).toEqual([0, 0, 0]);
    }
    expect(zero.origins["maas-alpha"]?.apiKey).toBe(demo.origins["maas-alpha"]?.apiKey);
    // the original is untouched
    expect(SimOptionsSchema.parse(demoSimOptions).origins["maas-alpha"]?.ttftBaseMs).toBe(200);
  });
});
