import { describe, expect, it } from "vitest";
import demo from "../../src/config/demo.json";
import { ConfigError, parseRouterConfig } from "../../src/config/load";
import { speaksResponses } from "../../src/config/origins";

const base = () => ({
  version: 1,
  origins: { a: { baseUrl: "https://api.example.com/v1/", provider: "openai" } },
  scenarios: { chat: { candidates: [{ origin: "a", model: "m" }] } },
});

function problems(input: unknown): string[] {
  try {
    parseRouterConfig(input);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("router config", () => {
  it("accepts the bundled demo config and fills defaults", () => {
    const config = parseRouterConfig(demo);
    expect(Object.keys(config.scenarios)).toEqual(["chat-default", "chat-canary", "deepseek-v3", "embed-default"]);
    expect(config.scenarios["chat-canary"]!.canary).toMatchObject({ origin: "maas-beta", share: 0.1 });
    expect(parseRouterConfig(base()).origins.a).toEqual({
      baseUrl: "https://api.example.com/v1",
      provider: "openai",
      kind: "maas",
      timeouts: { firstByteMs: 20000, totalMs: 600000 },
      cache: {},
      expectedTtftMs: 1000,
      windows: [],
    });
    expect(parseRouterConfig(base()).scenarios.chat!.affinity).toEqual({ policy: "affinity", epsilon: 0.25, promptCacheKeyRpm: 15 });
    expect(parseRouterConfig(base()).limits.maxBodyBytes).toBe(4 * 1024 * 1024);
  });

  it.each([
    ["a candidate naming an unknown origin", (c: any) => (c.scenarios.chat.candidates[0].origin = "b"), 'scenarios.chat.candidates[0].origin: unknown origin "b"'],
    ["an unknown provider", (c: any) => (c.origins.a.provider = "acme"), "origins.a.provider"],
    ["a relative base URL", (c: any) => (c.origins.a.baseUrl = "/v1"), "origins.a.baseUrl: must be an absolute http(s) URL"],
    ["a non-http base URL", (c: any) => (c.origins.a.baseUrl = "ftp://x/v1"), "origins.a.baseUrl"],
    ["a secret given as a value", (c: any) => (c.origins.a.apiKeySecret = "sk-live-123"), "origins.a.apiKeySecret"],
    ["firstByteMs over totalMs", (c: any) => (c.origins.a.timeouts = { firstByteMs: 10, totalMs: 5 }), "origins.a.timeouts.firstByteMs"],
    ["a scenario with no candidates", (c: any) => (c.scenarios.chat.candidates = []), "scenarios.chat.candidates"],
    ["an unknown field", (c: any) => (c.origins.a.weight = 3), "origins.a"],
    ["a wrong version", (c: any) => (c.version = 2), "version"],
    ["no origins", (c: any) => ((c.origins = {}), (c.scenarios = {})), "origins: declare at least one origin"],
    ["a degrade path naming an unknown origin", (c: any) => (c.scenarios.chat.degrade = ["zz"]), 'scenarios.chat.degrade[0]: unknown origin "zz"'],
    ["a canary naming an unknown origin", (c: any) => (c.scenarios.chat.canary = { origin: "zz", model: "m", share: 0.1 }), 'scenarios.chat.canary.origin: unknown origin "zz"'],
    ["a canary share over 1", (c: any) => (c.scenarios.chat.canary = { origin: "a", model: "m", share: 2 }), "scenarios.chat.canary.share"],
    ["an unknown placement policy", (c: any) => (c.scenarios.chat.affinity = { policy: "random" }), "scenarios.chat.affinity.policy"],
    ["a negative bounded-load epsilon", (c: any) => (c.scenarios.chat.affinity = { epsilon: -0.1 }), "scenarios.chat.affinity.epsilon"],
    ["a cache step of zero tokens", (c: any) => (c.origins.a.cache = { stepTokens: 0 }), "origins.a.cache.stepTokens"],
    ["a window reserved for an unknown class", (c: any) => (c.origins.a.windows = [{ from: "09:00", to: "18:00", reservedFor: ["vip"] }]), "origins.a.windows[0].reservedFor[0]"],
    ["a Responses API flag that is not a boolean", (c: any) => (c.origins.a.responsesApi = "yes"), "origins.a.responsesApi"],
    ["a service tier OpenAI does not have", (c: any) => (c.origins.a.serviceTiers = { turbo: { input: 1, output: 2 } }), 'origins.a.serviceTiers: Unrecognized key: "turbo"'],
    [
      "service tiers on a provider that does not bill by tier",
      (c: any) => ((c.origins.a.provider = "deepseek"), (c.origins.a.serviceTiers = { priority: { input: 1, output: 2 } })),
      "origins.a.serviceTiers: only origins of a provider that bills by service_tier",
    ],
  ])("rejects %s, naming the field", (_, mutate, expected) => {
    const config = base();
    mutate(config);
    const found = problems(config);
    expect(found.some((p) => p.startsWith(expected))).toBe(true);
  });

  it("takes a Responses API origin from its provider's default unless its responsesApi says otherwise", () => {
    const origins = (extra: Record<string, unknown>) => {
      const c: any = base();
      c.origins = {
        openai: { baseUrl: "https://api.openai.com/v1", provider: "openai", ...extra },
        vllm: { baseUrl: "https://pool.example.com/v1", provider: "vllm", ...extra },
        deepseek: { baseUrl: "https://api.deepseek.com/v1", provider: "deepseek", ...extra },
      };
      c.scenarios.chat.candidates[0].origin = "openai";
      const config = parseRouterConfig(c);
      return Object.fromEntries(Object.entries(config.origins).map(([name, o]) => [name, speaksResponses(o)]));
    };
    expect(origins({})).toEqual({ openai: true, vllm: false, deepseek: false });
    expect(origins({ responsesApi: true })).toEqual({ openai: true, vllm: true, deepseek: true });
    expect(origins({ responsesApi: false })).toEqual({ openai: false, vllm: false, deepseek: false });
  });

  it("rejects text that is not JSON", () => {
    expect(problems("{ nope")[0]).toMatch(/^\(root\): not valid JSON/);
  });

  it("lists every problem at once", () => {
    const config: any = base();
    config.origins.a.provider = "acme";
    config.origins.a.baseUrl = "nope";
    config.scenarios.chat.candidates = [];
    expect(problems(config)).toHaveLength(3);
  });
});
