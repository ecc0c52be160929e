import { describe, expect, it } from "vitest";
import { routerConfigSchema } from "../../src/config/schema";
import type { ChatRequest } from "../../src/openai/requests";
import { reservationFor, withOutputCap } from "../../src/usage/reservation";

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
    const body: ChatRequest = { model: "chat", messages: [{ role: "user", content: "hi" }], max_tokens: 10 };
    const r = reservationFor(config, "chat", config.scenarios.chat!, { endpoint: "chat", body }, Date.UTC(2026, 10, 23, 12));
    expect(r.prices).toEqual({ input: 2_500_000, cachedInput: 2_500_000, cacheWrite: 2_500_000, output: 10_000_000 });
    // flex wait + pool + cheap + canary, plus a minute of margin
    expect(r.holdMs).toBe(5_000 + 10_000 + 20_000 + 30_000 + 60_000);
    expect(r.requestedOutputCap).toBe(10);
  });

  it("lowers the client's own cap field, or adds max_tokens when it set none, never changing the client's body", () => {
    const chat = (fields: Partial<ChatRequest>): ChatRequest => ({ model: "chat", messages: [{ role: "user", content: "hi" }], ...fields });
    const lowered = chat({ max_completion_tokens: 500 });
    expect(withOutputCap(lowered, 100)).toEqual({ body: chat({ max_completion_tokens: 100 }), cap: 100 });
    expect(lowered).toEqual(chat({ max_completion_tokens: 500 }));
    const added = chat({});
    expect(withOutputCap(added, 100)).toEqual({ body: chat({ max_tokens: 100 }), cap: 100 });
    expect(added).toEqual(chat({}));
    const within = chat({ max_tokens: 50 });
    expect(withOutputCap(within, 100)).toEqual({ body: within, cap: null });
    expect(withOutputCap(within, null)).toEqual({ body: within, cap: null });
  });
});
