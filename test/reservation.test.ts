import { describe, expect, it } from "vitest";
import { routerConfigSchema } from "../src/config/schema";
import { applyOutputCap, reservationFor } from "../src/usage/reservation";

const config = routerConfigSchema.parse({
  version: 1,
  origins: {
    pool: { baseUrl: "http://pool/v1", provider: "vllm", kind: "self-hosted", timeouts: { firstByteMs: 1000, totalMs: 10_000 } },
    cheap: { baseUrl: "http://cheap/v1", provider: "deepseek", pricing: { input: 0.27, output: 1.1 }, timeouts: { firstByteMs: 1000, totalMs: 20_000 } },
    dear: { baseUrl: "http://dear/v1", provider: "openai", pricing: { input: 2.5, output: 10 }, timeouts: { firstByteMs: 1000, totalMs: 30_000 } },
  },
  scenarios: {
    chat: {
      candidates: [
        { origin: "pool", model: "m" },
        { origin: "cheap", model: "m" },
      ],
      canary: { origin: "dear", model: "m", share: 0.1 },
      flex: { maxWaitMs: 5_000 },
    },
  },
});

describe("what admission reserves", () => {
  it("prices the worst case over every origin that may serve, the canary included, and holds it long enough", () => {
    const body = { model: "chat", messages: [{ role: "user", content: "hi" }], max_tokens: 10 };
    const r = reservationFor(config, "chat", config.scenarios.chat!, body, false, Date.UTC(2026, 10, 23, 12));
    expect(r.prices).toEqual({ input: 2_500_000, cachedInput: 2_500_000, cacheWrite: 2_500_000, output: 10_000_000 });
    // flex wait + pool + cheap + canary, plus a minute of margin
    expect(r.holdMs).toBe(5_000 + 10_000 + 20_000 + 30_000 + 60_000);
    expect(r.requestedOutputCap).toBe(10);
  });

  it("lowers the client's own cap field, or adds max_tokens when it set none", () => {
    const lowered: Record<string, unknown> = { max_completion_tokens: 500 };
    expect(applyOutputCap(lowered, 100)).toBe(100);
    expect(lowered).toEqual({ max_completion_tokens: 100 });
    const added: Record<string, unknown> = {};
    expect(applyOutputCap(added, 100)).toBe(100);
    expect(added).toEqual({ max_tokens: 100 });
    const within: Record<string, unknown> = { max_tokens: 50 };
    expect(applyOutputCap(within, 100)).toBeNull();
    expect(within).toEqual({ max_tokens: 50 });
  });
});
