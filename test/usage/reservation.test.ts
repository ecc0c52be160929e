import { describe, expect, it } from "vitest";
import { routerConfigSchema } from "../../src/config/schema";
import type { ChatRequest, CompletionsRequest } from "../../src/openai/requests";
import { reservationFor, withOutputCap } from "../../src/usage/reservation";

const config = routerConfigSchema.parse({
  version: 1,
  origins: {
    pool: { baseUrl: "http://pool/v1", provider: "vllm", kind: "self-hosted", timeouts: { firstByteMs: 1000, totalMs: 10_000 } },
    cheap: { baseUrl: "http://cheap/v1", provider: "deepseek", pricing: { input: 0.27, output: 1.1 }, timeouts: { firstByteMs: 1000, totalMs: 20_000 } },
    dear: {
      baseUrl: "http://dear/v1",
      provider: "openai",
      pricing: { input: 2.5, output: 10 },
      serviceTiers: { priority: { input: 5, output: 20 } },
      timeouts: { firstByteMs: 1000, totalMs: 30_000 },
    },
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
    const r = reservationFor(config, "chat", config.scenarios.chat!, { endpoint: "chat", body }, "chat", Date.UTC(2026, 10, 23, 12));
    expect(r.prices).toEqual({ input: 2_500_000, cachedInput: 2_500_000, cacheWrite: 2_500_000, output: 10_000_000 });
    // flex wait + pool + cheap + canary, plus a minute of margin
    expect(r.holdMs).toBe(5_000 + 10_000 + 20_000 + 30_000 + 60_000);
    expect(r.requestedOutputCap).toBe(10);
  });

  it("prices a service_tier at the tier's prices where an origin declares it, the base prices elsewhere", () => {
    const body: ChatRequest = { model: "chat", messages: [{ role: "user", content: "hi" }], service_tier: "priority" };
    const r = reservationFor(config, "chat", config.scenarios.chat!, { endpoint: "chat", body }, "chat", Date.UTC(2026, 10, 23, 12));
    expect(r.prices).toEqual({ input: 5_000_000, cachedInput: 5_000_000, cacheWrite: 5_000_000, output: 20_000_000 });
    const flex = reservationFor(config, "chat", config.scenarios.chat!, { endpoint: "chat", body: { ...body, service_tier: "flex" } }, "chat", Date.UTC(2026, 10, 23, 12));
    expect(flex.prices.output).toBe(10_000_000);
  });

  it("counts every generated completion of a legacy request: prompts × max(n, best_of)", () => {
    const body: CompletionsRequest = { model: "chat", prompt: ["a", "b", "c"], n: 2, best_of: 4, max_tokens: 7 };
    const r = reservationFor(config, "chat", config.scenarios.chat!, { endpoint: "completions", body }, "completions", Date.UTC(2026, 10, 23, 12));
    expect(r).toMatchObject({ endpoint: "completions", choices: 12, requestedOutputCap: 7 });
    expect(reservationFor(config, "chat", config.scenarios.chat!, { endpoint: "completions", body: { model: "chat", prompt: [1, 2, 3] } }, "completions", 0).choices).toBe(1);
  });

  it("lowers the client's own cap field, or adds max_completion_tokens when it set none, never changing the client's body", () => {
    const chat = (fields: Partial<ChatRequest>): ChatRequest => ({ model: "chat", messages: [{ role: "user", content: "hi" }], ...fields });
    const as = (body: ChatRequest) => ({ endpoint: "chat" as const, body });
    const lowered = chat({ max_completion_tokens: 500 });
    expect(withOutputCap(as(lowered), 100)).toEqual({ request: as(chat({ max_completion_tokens: 100 })), cap: 100 });
    expect(lowered).toEqual(chat({ max_completion_tokens: 500 }));
    expect(withOutputCap(as(chat({ max_tokens: 500 })), 100)).toEqual({ request: as(chat({ max_tokens: 100 })), cap: 100 });
    const added = chat({});
    expect(withOutputCap(as(added), 100)).toEqual({ request: as(chat({ max_completion_tokens: 100 })), cap: 100 });
    expect(added).toEqual(chat({}));
    const within = chat({ max_tokens: 50 });
    expect(withOutputCap(as(within), 100)).toEqual({ request: as(within), cap: null });
    expect(withOutputCap(as(within), null)).toEqual({ request: as(within), cap: null });
    const legacy = { endpoint: "completions" as const, body: { model: "chat", prompt: "hi" } };
    expect(withOutputCap(legacy, 100)).toEqual({ request: { endpoint: "completions", body: { model: "chat", prompt: "hi", max_tokens: 100 } }, cap: 100 });
  });
});
