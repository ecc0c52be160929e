/**
 * A scenario's migration, pure parts (issue #19 §2): the routing each stage derives and what
 * `decide()` does with it, which moves are legal, the agreement of two answers, the eval pairs'
 * summary, the criteria's verdict and the refusals of a promotion.
 */
import { describe, expect, it } from "vitest";
import { parseRouterConfig } from "../../src/config/load";
import type { RouterConfigInput } from "../../src/config/schema";
import { validateRouterConfig } from "../../src/config/validate";
import { compareAnswers, textSimilarity } from "../../src/migration/agreement";
import { judge } from "../../src/migration/criteria";
import { distribution, summarizePairs, type EvalPair, type EvalSide } from "../../src/migration/evals";
import { migrationFigures, promotionRefusals } from "../../src/migration/figures";
import { STAGES, type Stage } from "../../src/migration/schema";
import { checkMove, nextStages } from "../../src/migration/stages";
import { acceptanceTrip, canaryOutcomes, canaryTrip } from "../../src/routing/canary";
import { decide, type RoutingRequest } from "../../src/routing/decide";
import { emptySnapshot } from "../support/snapshot";

function config(stage: Stage, extra: Record<string, unknown> = {}): RouterConfigInput {
  return {
    version: 1,
    origins: {
      maas: { baseUrl: "https://maas.example.com/v1", provider: "openai", pricing: { input: 1, cachedInput: 0.5, output: 2 } },
      backup: { baseUrl: "https://backup.example.com/v1", provider: "deepseek" },
      pool: { baseUrl: "https://pool.example.com/v1", provider: "vllm", kind: "self-hosted", pricing: { input: 0.1, output: 0.2 } },
    },
    scenarios: {
      chat: {
        candidates: [
          { origin: "maas", model: "gpt" },
          { origin: "backup", model: "ds" },
        ],
        migration: { candidate: { origin: "pool", model: "qwen" }, stage, owner: "ml@example.com", shadowShare: 0.25, canary: { share: 0.1, stop: { errorRate: 0.2, minSamples: 3 } }, ...extra },
      },
    },
  };
}

const scenarioAt = (stage: Stage, extra?: Record<string, unknown>) => {
  const parsed = parseRouterConfig(config(stage, extra));
  return { config: parsed, scenario: parsed.scenarios.chat! };
};

const request = (draw: number): RoutingRequest => ({ priority: "standard", promptTokens: 100, outputTokens: 10, boundaries: [], budgetPressure: 0, softLimited: false, random: () => draw });
const NOON = Date.UTC(2026, 10, 23, 12, 0);

describe("the routing each stage derives", () => {
  it.each(["discovery", "draft", "baseline", "evals"] as const)("%s: shadow copies to the candidate, users stay on the baseline", (stage) => {
    const { config: c, scenario } = scenarioAt(stage);
    expect(scenario).toMatchObject({ routing: "scored", shadow: { origin: "pool", model: "qwen", share: 0.25 } });
    expect(scenario.canary).toBeUndefined();
    expect(scenario.candidates.map((x) => x.origin)).toEqual(["maas", "backup"]);
    const view = { name: "chat", scenario, origins: c.origins, canaryStopped: false };
    const drawn = decide(request(0.2), view, () => null, NOON);
    expect(drawn.shadow).toEqual({ origin: "pool", model: "qwen" });
    expect(drawn.attempts.map((a) => a.origin)).not.toContain("pool");
    expect(decide(request(0.25), view, () => null, NOON).shadow).toBeNull();
  });

  it("a shadow stage with shadowShare 0 sends the candidate nothing at all", () => {
    const { scenario } = scenarioAt("draft", { shadowShare: 0 });
    expect(scenario.shadow).toBeUndefined();
    expect(scenario.canary).toBeUndefined();
  });

  it("canary: its share serves first with the baseline as fallback, and it stops by its criteria", () => {
    const { config: c, scenario } = scenarioAt("canary");
    expect(scenario.canary).toEqual({ origin: "pool", model: "qwen", share: 0.1, stop: { errorRate: 0.2, minSamples: 3, minRated: 20 } });
    expect(scenario.shadow).toBeUndefined();
    const view = { name: "chat", scenario, origins: c.origins, canaryStopped: false };
    const drawn = decide(request(0.05), view, () => null, NOON);
    expect(drawn.explanation.canary).toBe("drawn");
    expect(drawn.attempts[0]).toEqual({ origin: "pool", model: "qwen" });
    expect(drawn.attempts.map((a) => a.origin).sort()).toEqual(["backup", "maas", "pool"]);
    expect(decide(request(0.5), view, () => null, NOON).attempts.map((a) => a.origin)).not.toContain("pool");
    const stopped = decide(request(0.05), { ...view, canaryStopped: true }, () => null, NOON);
    expect(stopped.explanation.canary).toBe("stopped");
    expect(stopped.attempts.map((a) => a.origin)).not.toContain("pool");
  });

  it("primary: the candidate first, then the former route in its order, whatever the scores", () => {
    const { config: c, scenario } = scenarioAt("primary");
    expect(scenario).toMatchObject({ routing: "ordered", candidates: [{ origin: "pool", model: "qwen" }, { origin: "maas", model: "gpt" }, { origin: "backup", model: "ds" }] });
    expect(scenario.canary).toBeUndefined();
    expect(scenario.shadow).toBeUndefined();
    const d = decide(request(0.5), { name: "chat", scenario, origins: c.origins, canaryStopped: false }, () => null, NOON);
    expect(d.attempts.map((a) => a.origin)).toEqual(["pool", "maas", "backup"]);
  });

  it("rolled-back: the baseline as written, nothing to the candidate", () => {
    const { scenario } = scenarioAt("rolled-back");
    expect(scenario).toMatchObject({ routing: "scored", candidates: [{ origin: "maas" }, { origin: "backup" }] });
    expect(scenario.canary).toBeUndefined();
    expect(scenario.shadow).toBeUndefined();
  });

  it("fills the defaults: a 10 % shadow, a 5 % canary, 20 samples", () => {
    const input = config("draft");
    const migration = input.scenarios.chat!.migration!;
    const { shadowShare: _s, canary: _c, ...bare } = migration;
    input.scenarios.chat!.migration = bare;
    const parsed = parseRouterConfig(input).scenarios.chat!;
    expect(parsed.migration).toEqual({ ...bare, shadowShare: 0.1, evals: { minSamples: 20 }, canary: { share: 0.05, stop: { minSamples: 20, minRated: 20 } } });
    expect(parsed.shadow?.share).toBe(0.1);
  });
});

describe("validation of a migration", () => {
  it("reports every problem in one pass, each at its path", () => {
    const input = config("launch" as Stage, { owner: undefined, candidate: { origin: "ghost", model: "m" }, canary: { share: 2 } }) as any;
    input.scenarios.chat.shadow = { origin: "backup", model: "ds", share: 0.5 };
    input.scenarios.chat.canary = { origin: "backup", model: "ds", share: 0.5 };
    input.scenarios.other = { candidates: [{ origin: "pool", model: "qwen" }], migration: { candidate: { origin: "pool", model: "qwen" }, stage: "draft", owner: "x" } };
    const result = validateRouterConfig(input, { allowLoopback: false });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toEqual([
      { path: "scenarios.chat.migration.stage", message: expect.stringContaining("discovery") },
      { path: "scenarios.chat.migration.owner", message: expect.any(String) },
      { path: "scenarios.chat.migration.canary.share", message: expect.any(String) },
      { path: "scenarios.chat.migration.candidate.origin", message: 'unknown origin "ghost"' },
      { path: "scenarios.chat.canary", message: "a scenario with a migration gets its canary from the migration's stage: remove it (see migration.canary)" },
      { path: "scenarios.chat.shadow", message: "a scenario with a migration gets its shadow from the migration's stage: remove it (see migration.shadowShare)" },
      { path: "scenarios.other.migration.candidate.origin", message: "\"pool\" is already one of the scenario's candidates: it would serve users before its stages allow" },
    ]);
  });
});

describe("stage moves", () => {
  it("forward one stage at a time, back to any earlier one, rolled back from anywhere", () => {
    const allowed = Object.fromEntries(STAGES.map((from) => [from, nextStages(from)]));
    expect(allowed).toEqual({
      discovery: ["draft", "rolled-back"],
      draft: ["discovery", "baseline", "rolled-back"],
      baseline: ["discovery", "draft", "evals", "rolled-back"],
      evals: ["discovery", "draft", "baseline", "canary", "rolled-back"],
      canary: ["discovery", "draft", "baseline", "evals", "primary", "rolled-back"],
      primary: ["discovery", "draft", "baseline", "evals", "canary", "rolled-back"],
      "rolled-back": ["discovery", "draft", "baseline", "evals"],
    });
  });

  it("says why a move is refused, and what kind a legal one is", () => {
    expect(checkMove("draft", "canary")).toEqual({ ok: false, message: "Stage 'draft' → 'canary' skips baseline, evals: move forward one stage at a time (next: 'baseline')." });
    expect(checkMove("evals", "evals")).toEqual({ ok: false, message: "The migration is already in stage 'evals'." });
    expect(checkMove("rolled-back", "canary")).toMatchObject({ ok: false, message: expect.stringMatching(/^A rolled-back migration restarts at 'evals' at the latest/) });
    expect(checkMove("evals", "canary")).toEqual({ ok: true, kind: "forward" });
    expect(checkMove("primary", "canary")).toEqual({ ok: true, kind: "back" });
    expect(checkMove("primary", "rolled-back")).toEqual({ ok: true, kind: "rollback" });
    expect(checkMove("rolled-back", "evals")).toEqual({ ok: true, kind: "restart" });
  });
});

const completion = (message: Record<string, unknown>) => JSON.stringify({ object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: "stop" }] });
const call = (name: string, args: string) => ({ content: null, tool_calls: [{ id: "c", type: "function", function: { name, arguments: args } }] });

describe("agreement of two answers", () => {
  it("word-multiset Dice similarity", () => {
    expect(textSimilarity("the cat sat", "The cat ran")).toBe(0.6667);
    expect(textSimilarity("a a b", "a b b")).toBe(0.6667);
    expect(textSimilarity("", "")).toBe(1);
    expect(textSimilarity("yes", "")).toBe(0);
  });

  it("the same tool calls: equal names and arguments, whatever the key order", () => {
    expect(compareAnswers(completion(call("f", '{"a":1,"b":[2]}')), completion(call("f", '{"b":[2],"a":1}')), false)).toEqual({ similarity: 1, toolCalls: true, json: null });
    expect(compareAnswers(completion(call("f", '{"a":1}')), completion(call("f", '{"a":2}')), false)?.toolCalls).toBe(false);
    expect(compareAnswers(completion(call("f", "{}")), completion({ content: "no call" }), false)?.toolCalls).toBe(false);
    // Arguments nested past what may be walked compare as text (walked, they overflowed the stack).
    const deep = `{"a":${"[".repeat(10_000)}${"]".repeat(10_000)}}`;
    expect(compareAnswers(completion(call("f", deep)), completion(call("f", deep)), false)?.toolCalls).toBe(true);
    expect(compareAnswers(completion(call("f", deep)), completion(call("f", `${deep} `)), false)?.toolCalls).toBe(false);
    expect(compareAnswers(completion({ content: "x" }), completion({ content: "x" }), false)).toEqual({ similarity: 1, toolCalls: null, json: null });
  });

  it("JSON validity on each side, when the request asked for JSON", () => {
    expect(compareAnswers(completion({ content: '{"answer":"yes"}' }), completion({ content: '{"answer": "no' }), true)).toEqual({ similarity: 0.5, toolCalls: null, json: { baseline: true, candidate: false } });
  });

  it("a stream's collected answer compares like a whole one, in any mix", () => {
    const whole = JSON.stringify({ choices: [{ message: { content: "the cat sat" } }] });
    expect(compareAnswers(whole, { content: "The cat ran", toolCalls: [] }, false)).toEqual({ similarity: 0.6667, toolCalls: null, json: null });
    const call = { name: "lookup", arguments: '{"b":2,"a":1}' };
    const withCall = JSON.stringify({ choices: [{ message: { content: null, tool_calls: [{ function: { name: "lookup", arguments: '{"a":1,"b":2}' } }] } }] });
    expect(compareAnswers({ content: "", toolCalls: [call] }, withCall, true)).toMatchObject({ toolCalls: true, json: { baseline: false, candidate: false } });
  });

  it("nothing to compare without a chat completion on both sides", () => {
    expect(compareAnswers("not json", completion({ content: "x" }), false)).toBeNull();
    expect(compareAnswers(JSON.stringify({ object: "list", data: [] }), completion({ content: "x" }), false)).toBeNull();
  });
});

const side = (over: Partial<EvalSide>): EvalSide => ({ origin: "maas", ok: true, result: "200", ttftMs: 100, latencyMs: 200, promptTokens: 100, cachedTokens: 0, completionTokens: 10, cacheReported: true, costMicros: 120, ...over });
const pair = (i: number, baseline: Partial<EvalSide>, candidate: Partial<EvalSide>, agreement: EvalPair["agreement"] = null): EvalPair => ({
  requestId: `r${i}`,
  at: i,
  stage: "evals",
  baseline: side(baseline),
  candidate: side({ origin: "pool", ...candidate }),
  agreement,
});

describe("the eval pairs side by side", () => {
  it("nearest-rank percentiles", () => {
    expect(distribution([400, 100, 300, 200])).toEqual({ p50: 200, p90: 400, mean: 250, cv: 0.4472 });
    expect(distribution([5])).toEqual({ p50: 5, p90: 5, mean: 5, cv: 0 });
    expect(distribution([])).toBeNull();
  });

  it("latency, errors, cost, cache and agreement of each side", () => {
    const pairs = [
      pair(1, { ttftMs: 100, costMicros: 120, cachedTokens: 50 }, { ttftMs: 80, costMicros: 30 }, { similarity: 0.5, toolCalls: null, json: null }),
      pair(2, { ttftMs: 300, costMicros: 140 }, { ttftMs: 90, costMicros: 40, cacheReported: false, cachedTokens: 99 }, { similarity: 1, toolCalls: true, json: { baseline: true, candidate: true } }),
      pair(3, { ttftMs: 200, costMicros: 100 }, { ok: false, result: "500", ttftMs: null, costMicros: 0, promptTokens: 0, completionTokens: 0 }),
    ];
    const s = summarizePairs(pairs);
    expect(s.samples).toBe(3);
    expect(s.baseline).toEqual({
      requests: 3,
      errors: 0,
      errorRate: 0,
      ttftMs: { p50: 200, p90: 300, mean: 200, cv: 0.4082 },
      latencyMs: { p50: 200, p90: 200, mean: 200, cv: 0 },
      costMicros: { total: 360, perRequest: 120, perAnswer: 120 },
      tokens: { prompt: 300, cached: 50, completion: 30 },
      cacheHitRate: 0.1667,
    });
    // The candidate's cache rate comes from its own answers that reported a cache: pair 1 only.
    expect(s.candidate).toMatchObject({ requests: 3, errors: 1, errorRate: 0.3333, ttftMs: { p50: 80, p90: 90 }, costMicros: { total: 70, perRequest: 23.33, perAnswer: 35 }, cacheHitRate: 0 });
    expect(s.agreement).toEqual({ compared: 2, similarity: 0.75, toolCalls: { compared: 1, same: 1 }, json: { compared: 1, baselineValid: 1, candidateValid: 1 } });
  });
});

describe("the criteria's verdict and a promotion's refusals", () => {
  const pairs = (n: number, failing: number) => Array.from({ length: n }, (_, i) => pair(i, { ttftMs: 100, costMicros: 100 }, i < failing ? { ok: false, ttftMs: null, costMicros: 0 } : { ttftMs: 150, costMicros: 40 }, { similarity: 0.9, toolCalls: null, json: null }));
  const criteria = { minSamples: 4, errorRate: 0.25, ttftP90Ratio: 2, costRatio: 0.5, agreement: 0.8 };

  it("insufficient below minSamples, fail when a limit is crossed, pass when all hold", () => {
    expect(judge(criteria, summarizePairs(pairs(3, 0))).verdict).toBe("insufficient");
    const failing = judge(criteria, summarizePairs(pairs(4, 2)));
    expect(failing.verdict).toBe("fail");
    expect(failing.checks.filter((c) => !c.pass)).toEqual([{ name: "errorRate", limit: 0.25, value: 0.5, pass: false, detail: "candidate error rate 0.5 > 0.25" }]);
    const passing = judge(criteria, summarizePairs(pairs(8, 2)));
    expect(passing).toEqual({
      verdict: "pass",
      checks: [
        { name: "minSamples", limit: 4, value: 8, pass: true, detail: "8 paired requests, 4 needed" },
        { name: "errorRate", limit: 0.25, value: 0.25, pass: true, detail: "candidate error rate 0.25 ≤ 0.25" },
        { name: "ttftP90Ratio", limit: 2, value: 1.5, pass: true, detail: "candidate/baseline TTFT p90 1.5 ≤ 2" },
        { name: "costRatio", limit: 0.5, value: 0.4, pass: true, detail: "candidate/baseline cost per answer 0.4 ≤ 0.5" },
        { name: "agreement", limit: 0.8, value: 0.9, pass: true, detail: "mean similarity 0.9 ≥ 0.8 over 8 answers" },
      ],
    });
  });

  it("into canary: the criteria; into primary: a canary that neither stopped nor trips, with enough samples", () => {
    const { config: c, scenario } = scenarioAt("evals", { evals: criteria });
    const figuresWith = (snapshots: Map<string, ReturnType<typeof emptySnapshot>>, failing: number) =>
      migrationFigures({ config: c, scenario: "chat", migration: scenario.migration!, snapshots, evals: summarizePairs(pairs(8, failing)), since: 0, at: NOON });
    const none = new Map<string, ReturnType<typeof emptySnapshot>>();
    expect(promotionRefusals("canary", scenario.migration!, figuresWith(none, 2))).toEqual([]);
    expect(promotionRefusals("canary", scenario.migration!, figuresWith(none, 3))).toEqual(["errorRate: candidate error rate 0.375 > 0.25"]);
    // A move back is never refused.
    expect(promotionRefusals("draft", scenario.migration!, figuresWith(none, 8))).toEqual([]);

    const migration = scenarioAt("canary").scenario.migration!;
    const healthy = new Map([["pool", emptySnapshot("pool", { samples: 3, errorRate: 0.1 })]]);
    const figures = (snaps: typeof healthy) => migrationFigures({ config: c, scenario: "chat", migration, snapshots: snaps, evals: summarizePairs([]), since: 0, at: NOON });
    expect(promotionRefusals("primary", migration, figures(healthy))).toEqual([]);
    expect(promotionRefusals("primary", migration, figures(new Map([["pool", emptySnapshot("pool", { samples: 2 })]])))).toEqual(["the candidate's monitor counted 2 requests, 3 needed"]);
    const stopped = new Map([["pool", emptySnapshot("pool", { samples: 5, errorRate: 0.3, canaryStops: { chat: { at: 1, reason: "error rate 0.300 > 0.2 over 5 samples" } } })]]);
    expect(promotionRefusals("primary", migration, figures(stopped))).toEqual([
      "the canary stopped: error rate 0.300 > 0.2 over 5 samples",
      "the canary's stop criteria trip: error rate 0.300 > 0.2 over 5 samples",
    ]);
  });

  it("re-estimates the candidate's cache from its own answers, never from the baseline's", () => {
    const { config: c, scenario } = scenarioAt("evals");
    const evals = summarizePairs([pair(1, { cachedTokens: 80 }, { cachedTokens: 10 })]);
    const snapshots = new Map([
      ["maas", emptySnapshot("maas", { prefixCache: { chat: { requests: 4, promptTokens: 400, predictedTokens: 0, reportedTokens: 200, confirmedTokens: 0, placements: { sticky: 0, spill: 0, cold: 4, none: 0 }, hitRate: 0.5, predictedRate: 0, precision: null } } })],
    ]);
    const figures = migrationFigures({ config: c, scenario: "chat", migration: scenario.migration!, snapshots, evals, since: 0, at: NOON });
    expect(figures.cache).toEqual({
      baseline: {
        origins: [
          { origin: "maas", ttlSeconds: 300, minTokens: 1024, stepTokens: 128, cachedInputPriceRatio: 0.5 },
          { origin: "backup", ttlSeconds: 3600, minTokens: 64, stepTokens: 64, cachedInputPriceRatio: null },
        ],
        hitRate: 0.5,
        source: "served",
        requests: 4,
      },
      candidate: { origins: [{ origin: "pool", ttlSeconds: 600, minTokens: 16, stepTokens: 16, cachedInputPriceRatio: 1 }], hitRate: 0.1, source: "shadow copies", requests: 1 },
    });
    const unmeasured = migrationFigures({ config: c, scenario: "chat", migration: scenario.migration!, snapshots, evals: summarizePairs([]), since: 0, at: NOON });
    expect(unmeasured.cache.candidate).toMatchObject({ hitRate: null, source: null, requests: 0 });
  });
});

describe("the canary's acceptance against the baseline's", () => {
  const counts = (accepted: number, rejected: number, gatesPassed = 0, gatesFailed = 0) => ({ served: accepted + rejected, accepted, rejected, gatesPassed, gatesFailed });
  const stop = { acceptanceDrop: 0.1, minRated: 4 };

  it("trips when the canary accepts more than acceptanceDrop less, once both sides have minRated judged answers", () => {
    // 3 of 4 (75 %) against 9 of 10 (90 %): 15 points down, more than 10.
    expect(acceptanceTrip(stop, { canary: counts(3, 1), baseline: counts(9, 1) })).toBe("acceptance 75 % of 4 rated answers < baseline 90 % of 10 − 10 points");
    // Exactly 10 points down (80 % against 90 %) holds: the limit is "more than".
    expect(acceptanceTrip(stop, { canary: counts(4, 1), baseline: counts(9, 1) })).toBeNull();
    // Too few rated on either side: no verdict.
    expect(acceptanceTrip(stop, { canary: counts(0, 3), baseline: counts(9, 1) })).toBeNull();
    expect(acceptanceTrip(stop, { canary: counts(0, 4), baseline: counts(3, 0) })).toBeNull();
    // No monitor counted a side, or no drop configured.
    expect(acceptanceTrip(stop, { canary: counts(0, 4), baseline: null })).toBeNull();
    expect(acceptanceTrip({ minRated: 4 }, { canary: counts(0, 4), baseline: counts(4, 0) })).toBeNull();
  });

  it("compares the quality gates' pass rate on its own, beside feedback", () => {
    const gated = { canary: counts(0, 0, 2, 3), baseline: counts(0, 0, 5, 0) };
    expect(acceptanceTrip(stop, gated)).toBe("quality-gate pass rate 40 % of 5 gated answers < baseline 100 % of 5 − 10 points");
    // Feedback is read first; the gates still trip when feedback holds.
    expect(acceptanceTrip(stop, { canary: counts(4, 0, 2, 3), baseline: counts(4, 0, 5, 0) })).toBe("quality-gate pass rate 40 % of 5 gated answers < baseline 100 % of 5 − 10 points");
  });

  it("sums the baseline over the scenario's candidates, never counting the canary's origin, and trips the canary without minSamples", () => {
    const outcomes = (c: ReturnType<typeof counts>) => ({ outcomes: { chat: { ...c, unrated: 0, acceptanceRate: null, gatePassRate: null } } });
    const snapshots = new Map([
      ["maas", emptySnapshot("maas", outcomes(counts(3, 1)))],
      ["backup", emptySnapshot("backup", outcomes(counts(6, 0)))],
      ["pool", emptySnapshot("pool", outcomes(counts(1, 3)))],
    ]);
    const summed = canaryOutcomes("chat", "pool", ["maas", "backup", "pool", "maas"], (o) => snapshots.get(o));
    expect(summed.baseline).toEqual(counts(9, 1));
    expect(summed.canary).toMatchObject(counts(1, 3));
    expect(canaryOutcomes("other", "pool", ["maas"], (o) => snapshots.get(o))).toEqual({ canary: null, baseline: null, since: null });

    const canary = { origin: "pool", model: "qwen", share: 0.1, stop: { minSamples: 50, minRated: 4, acceptanceDrop: 0.1 } };
    expect(canaryTrip(canary, snapshots.get("pool")!, null, summed)).toBe("acceptance 25 % of 4 rated answers < baseline 90 % of 10 − 10 points");
    expect(canaryTrip(canary, snapshots.get("pool")!, null)).toBeNull();

    // Started (or resumed) at 1 rejected of the canary and 8 accepted of the baseline: only what was judged since counts.
    const started = new Map(snapshots);
    started.set("pool", { ...snapshots.get("pool")!, canaryStarts: { chat: { at: 77, canary: counts(0, 1), baseline: counts(8, 0) } } });
    const since = canaryOutcomes("chat", "pool", ["maas", "backup"], (o) => started.get(o));
    expect(since).toEqual({ canary: counts(1, 2), baseline: counts(1, 1), since: 77 });
    // 1 of 3 against 1 of 2: fewer than minRated (4) on both sides.
    expect(canaryTrip(canary, started.get("pool")!, null, since)).toBeNull();
    // A baseline that counts less than at the start (another set of origins, a stale snapshot) never counts below zero.
    expect(canaryOutcomes("chat", "pool", ["maas"], (o) => started.get(o)).baseline).toEqual({ served: 0, accepted: 0, rejected: 1, gatesPassed: 0, gatesFailed: 0 });
    // A scenario no monitor counted, started: zero on both sides.
    started.set("pool", { ...snapshots.get("pool")!, canaryStarts: { other: { at: 5, canary: counts(0, 0), baseline: counts(0, 0) } } });
    expect(canaryOutcomes("other", "pool", ["maas"], (o) => started.get(o))).toEqual({ canary: counts(0, 0), baseline: counts(0, 0), since: 5 });
  });
});
