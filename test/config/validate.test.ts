import { describe, expect, it } from "vitest";
import demo from "../../src/config/demo.json";
import { validateOptionsOf } from "../../src/config/load";
import { isLoopbackUrl, validateRouterConfig, type ConfigProblem } from "../../src/config/validate";

const LOCAL = { allowLoopback: true };
const EDGE = { allowLoopback: false };

const base = (): any => ({
  version: 1,
  origins: {
    a: { baseUrl: "https://api.example.com/v1", provider: "openai", apiKeySecret: "A_KEY" },
    b: { baseUrl: "https://b.example.com/v1", provider: "deepseek" },
  },
  scenarios: { chat: { candidates: [{ origin: "a", model: "m" }] } },
});

function problemsOf(input: unknown, options: Parameters<typeof validateRouterConfig>[1] = LOCAL): ConfigProblem[] {
  const result = validateRouterConfig(input, options);
  if (result.ok) throw new Error("expected problems");
  return result.problems;
}

describe("validateRouterConfig: every problem in one pass", () => {
  it("lists schema and cross-reference problems together, each at its JSON path", () => {
    const config = base();
    config.origins.a.provider = "acme"; // schema
    config.origins.b.timeouts = { firstByteMs: 0 }; // schema
    config.scenarios.chat.candidates.push({ origin: "ghost", model: "m" }); // cross-reference
    config.scenarios.chat.canary = { origin: "phantom", model: "m", share: 0.1 }; // cross-reference
    config.scenarios.chat.degrade = ["a", "nowhere"]; // cross-reference
    expect(problemsOf(config)).toEqual([
      { path: "origins.a.provider", message: expect.stringContaining("Invalid option") },
      { path: "origins.b.timeouts.firstByteMs", message: expect.any(String) },
      { path: "scenarios.chat.candidates[1].origin", message: 'unknown origin "ghost"' },
      { path: "scenarios.chat.degrade[1]", message: 'unknown origin "nowhere"' },
      { path: "scenarios.chat.canary.origin", message: 'unknown origin "phantom"' },
    ]);
  });

  it("names a secret that is not set, when it can see the secrets", () => {
    const config = base();
    expect(validateRouterConfig(config, LOCAL).ok).toBe(true);
    expect(problemsOf(config, { ...LOCAL, secretIsSet: (name) => name === "OTHER" })).toEqual([
      { path: "origins.a.apiKeySecret", message: 'secret "A_KEY" is not set (wrangler secret put A_KEY)' },
    ]);
    expect(validateRouterConfig(config, { ...LOCAL, secretIsSet: (name) => name === "A_KEY" }).ok).toBe(true);
  });

  it("refuses price windows of one origin that overlap, but not windows that only touch or live in other zones", () => {
    const config = base();
    config.origins.b.pricing = {
      input: 1,
      output: 2,
      windows: [
        { from: "22:00", to: "06:00", multiplier: 0.5 },
        { from: "06:00", to: "08:00", multiplier: 0.8 }, // touches the first: fine
        { days: ["sat"], from: "05:00", to: "07:00", multiplier: 0.7 }, // Saturday 05:00 is inside Friday's night window
        { from: "12:00", to: "13:00", timeZone: "Asia/Tokyo", multiplier: 0.9 }, // another zone: not compared
      ],
    };
    expect(problemsOf(config)).toEqual([
      { path: "origins.b.pricing.windows[2]", message: "overlaps window 0, which sets the price where they meet: split them so each hour has one price" },
    ]);
    config.origins.b.pricing.windows.splice(2, 1);
    expect(validateRouterConfig(config, LOCAL).ok).toBe(true);
  });

  it("checks a service tier's price windows as the base prices' (issue #17), and keeps serviceTiers to providers that bill by tier", () => {
    const config = base();
    config.origins.a.serviceTiers = {
      priority: { input: 2, output: 4, windows: [{ from: "22:00", to: "06:00", multiplier: 0.5 }, { from: "05:00", to: "07:00", multiplier: 0.8 }] },
    };
    config.origins.b.serviceTiers = { flex: { input: 1, output: 1 } };
    expect(problemsOf(config)).toEqual([
      { path: "origins.b.serviceTiers", message: "only origins of a provider that bills by service_tier (openai) may declare serviceTiers" },
      { path: "origins.a.serviceTiers.priority.windows[1]", message: "overlaps window 0, which sets the price where they meet: split them so each hour has one price" },
    ]);
    delete config.origins.b.serviceTiers;
    config.origins.a.serviceTiers.priority.windows.pop();
    expect(validateRouterConfig(config, LOCAL).ok).toBe(true);
  });

  it("sees a window crossing the week's end (Sunday night into Monday)", () => {
    const config = base();
    config.origins.b.pricing = {
      input: 1,
      output: 2,
      windows: [
        { days: ["sun"], from: "23:00", to: "02:00", multiplier: 0.5 },
        { days: ["mon"], from: "01:00", to: "03:00", multiplier: 0.8 },
      ],
    };
    expect(problemsOf(config).map((p) => p.path)).toEqual(["origins.b.pricing.windows[1]"]);
  });

  it("refuses loopback origins outside a local run, however the address is spelled", () => {
    for (const url of ["http://127.0.0.1:8790/v1", "http://localhost/v1", "http://api.localhost/v1", "http://[::1]:80/v1", "http://2130706433/v1", "http://0x7f.1/v1", "http://0.0.0.0/v1", "http://127.9.9.9/v1"]) {
      expect(isLoopbackUrl(url), url).toBe(true);
    }
    for (const url of ["https://api.deepseek.com/v1", "http://10.0.0.5:8000/v1", "http://128.0.0.1/v1", "http://localhost.example.com/v1"]) {
      expect(isLoopbackUrl(url), url).toBe(false);
    }
    const found = problemsOf(demo, EDGE);
    expect(found.map((p) => p.path)).toEqual(["origins.pool-local.baseUrl", "origins.maas-alpha.baseUrl", "origins.maas-beta.baseUrl"]);
    expect(found[0]!.message).toMatch(/loopback address is refused outside a local run/);
    expect(validateRouterConfig(demo, LOCAL).ok).toBe(true);
  });

  it("takes the loopback permission from ALLOW_LOOPBACK_ORIGINS only", () => {
    expect(validateOptionsOf({}).allowLoopback).toBe(false);
    expect(validateOptionsOf({ ALLOW_LOOPBACK_ORIGINS: "0" }).allowLoopback).toBe(false);
    expect(validateOptionsOf({ ALLOW_LOOPBACK_ORIGINS: "1" }).allowLoopback).toBe(true);
    expect(validateOptionsOf({ ALLOW_LOOPBACK_ORIGINS: "true" }).allowLoopback).toBe(true);
  });

  it("reports text that is not JSON, and a config that is not an object", () => {
    expect(problemsOf("{ nope")).toEqual([{ path: "(root)", message: expect.stringMatching(/^not valid JSON/) }]);
    expect(problemsOf([1, 2]).map((p) => p.path)).toEqual(["(root)"]);
  });

  it("accepts a `$schema` pointer for editors", () => {
    expect(validateRouterConfig({ $schema: "https://router.example.com/admin/config/schema", ...base() }, LOCAL).ok).toBe(true);
  });
});
