/**
 * A scenario's migration through the admin API (issue #19 §2), on simulated origins: the test
 * config's `chat-migrating` goes from `discovery` to `primary` and back to `rolled-back`, with
 * real traffic. Each move is a config version (diff, history, audit); the shadow stages' eval pairs
 * give figures checked against what the client and the origins saw, request by request; promotion
 * waits for the eval criteria and for a canary that did not stop itself, unless forced; moves that
 * skip a stage or race another are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { textSimilarity } from "../../src/migration/agreement";
import { costMicros } from "../../src/pricing/cost";
import { adminFetch, api, chat, errorOf, jsonOf, newTenant, originSaw, settledAll, sseData, waitFor } from "../support/client";
import { ADMIN_READ_TOKEN, MIG_CANARY_MAX_COST } from "../support/router-config";
import type { SimRecord } from "../../src/sim";

const S = "chat-migrating";
/** µ$ per million tokens: `ALPHA_PRICING` (the baseline, mig-maas) and `MIG_POOL_PRICING` (the candidate). */
const MAAS_PRICES = { input: 1_000_000, cachedInput: 500_000, cacheWrite: 1_000_000, output: 2_000_000 };
const POOL_PRICES = { input: 500_000, cachedInput: 500_000, cacheWrite: 500_000, output: 1_000_000 };
const FAIL_CANDIDATE = { "mig-pool": { status: 500 } };
const NONE = { served: 0, accepted: 0, rejected: 0, gatesPassed: 0, gatesFailed: 0 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const attemptsOf = (res: Response) => res.headers.get("x-router-attempts")!.replace(/;ms=\d+/g, "");

async function state(): Promise<any> {
  const res = await adminFetch(`/scenarios/${S}/migration`);
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

function move(to: string, extra: Record<string, unknown> = {}, scenario = S): Promise<Response> {
  return adminFetch(`/scenarios/${scenario}/migration/stage`, { body: { to, ...extra } });
}

async function moved(to: string, extra: Record<string, unknown> = {}): Promise<any> {
  const res = await move(to, extra);
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

async function refusal(res: Response | Promise<Response>): Promise<{ status: number; code: string; message: string }> {
  const r = await res;
  const { error } = (await r.json()) as { error: { code: string; message: string } };
  return { status: r.status, code: error.code, message: error.message };
}

/** Waits until the current stage counts `n` eval pairs (shadow copies finish after their response). */
async function pairs(n: number): Promise<any> {
  for (let i = 0; i < 200; i++) {
    const s = await state();
    if (s.figures.evals.samples >= n) {
      expect(s.figures.evals.samples).toBe(n);
      return s;
    }
    await sleep(25);
  }
  throw new Error(`fewer than ${n} eval pairs`);
}

async function liveVersion(): Promise<number> {
  return ((await jsonOf(adminFetch("/config"))) as { version: number }).version;
}

interface Served {
  requestId: string;
  origin: string | null;
  attempts: string;
  body: any;
}

let key = "";
let tenantId = "";
let counter = 0;
/** Every answer `ask` got, oldest first. */
const answered: Served[] = [];

/**
 * A system prompt every request shares: ~500 tokens, which the pool's 16-token blocks reuse and the
 * MaaS API's 1,024-token minimum does not. The two caches differ, and the figures must show it.
 */
const SYSTEM = "You answer questions about moving a scenario between origins. ".repeat(33);

/** The messages of a new request: a question of its own after the shared system prompt. */
function nextQuestion(): Array<{ role: string; content: string }> {
  return [
    { role: "system", content: SYSTEM },
    { role: "user", content: `question ${counter++} about the migration` },
  ];
}

/** The content a stream carried, from its deltas. */
function streamedContent(text: string): string {
  return sseData(text)
    .flatMap((e) => (e === "[DONE]" || !Array.isArray(e.choices) ? [] : e.choices.map((c: any) => c.delta?.content ?? "")))
    .join("");
}

/** A request of the scenario, with a question of its own after the shared system prompt. */
async function ask(extra: Record<string, unknown> = {}): Promise<Served> {
  const res = await chat(key, { model: S, messages: nextQuestion(), ...extra });
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  const served = { requestId: res.headers.get("x-request-id")!, origin: res.headers.get("x-router-origin"), attempts: attemptsOf(res), body };
  answered.push(served);
  return served;
}

/** Feedback on an answer (its usage row is written within a second: retried until it is). */
async function rate(requestId: string, accepted: boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const res = await api("/feedback", key, { request_id: requestId, accepted });
    if (res.status === 200) return;
    expect(res.status, await res.text()).toBe(404);
    await sleep(25);
  }
  throw new Error(`feedback on ${requestId} never landed`);
}

/** The scenario's cost and outcomes per origin, as the tenant's usage summary says. */
async function perOrigin(): Promise<Record<string, { requests: number; costMicros: number; accepted: number; rejected: number; costPerAcceptedMicros: number | null }>> {
  const summary = await jsonOf<any>(adminFetch(`/tenants/${tenantId}/usage/summary?group_by=model,origin`));
  const rows = summary.data.filter((g: any) => g.by.model === S);
  return Object.fromEntries(rows.map((g: any) => [g.by.origin, { requests: g.requests, costMicros: g.costMicros, accepted: g.accepted, rejected: g.rejected, costPerAcceptedMicros: g.costPerAcceptedMicros }]));
}

/**
 * Waits until each origin's monitor has counted every answer of the scenario it served: an answer is
 * reported to its monitor after it completes, batched, so the count can trail the answer.
 */
async function servedCounted(): Promise<void> {
  // What each origin served, as the tenant's usage log has it once every row has landed.
  await settledAll(tenantId);
  const served = await perOrigin();
  const expected = [served["mig-maas"]?.requests, served["mig-pool"]?.requests];
  const counts = (x: any) => [x.figures.baseline[0].outcomes?.served, x.figures.candidate.outcomes?.served];
  const s = await stateWhen((x) => counts(x)[0] === expected[0] && counts(x)[1] === expected[1]);
  expect(counts(s)).toEqual(expected);
}

/** What the candidate's origin received of a request's shadow copy: sent beside the answer, it may reach the origin after the client has the answer. */
async function shadowSeen(requestId: string): Promise<SimRecord> {
  const seen = await waitFor(`mig-pool's shadow copy of ${requestId}`, () => originSaw(requestId), (records) => records.some((rec) => rec.origin === "mig-pool"));
  return seen.find((rec) => rec.origin === "mig-pool")!;
}

/** Polls the migration until `ok` holds. */
async function stateWhen(ok: (s: any) => boolean): Promise<any> {
  let s = await state();
  for (let i = 0; i < 200 && !ok(s); i++) {
    await sleep(25);
    s = await state();
  }
  return s;
}

const usageOf = (body: any) => ({
  promptTokens: body.usage.prompt_tokens as number,
  cachedTokens: (body.usage.prompt_tokens_details?.cached_tokens ?? 0) as number,
  cacheWriteTokens: 0,
  completionTokens: body.usage.completion_tokens as number,
});

let seedVersion = 0;

beforeAll(async () => {
  seedVersion = await liveVersion();
  ({ key, tenantId } = await newTenant());
});

afterAll(async () => {
  // Leave the seed's config running, whatever a failed test left behind.
  if (seedVersion > 0) await adminFetch("/config/rollback", { body: { version: seedVersion, message: "test cleanup" } });
});

describe("a scenario's migration, stage by stage", () => {
  it("starts where the config says, with its effective routing, figures and history, for both admin tokens", async () => {
    const s = await state();
    expect(s).toMatchObject({
      object: "scenario.migration",
      scenario: S,
      configVersion: seedVersion,
      migration: { candidate: { origin: "mig-pool", model: "pool-model" }, stage: "discovery", owner: "ml-platform@example.com", shadowShare: 1 },
      next: ["draft", "rolled-back"],
      effective: { routing: "ordered", candidates: [{ origin: "mig-maas", model: "maas-model" }], canary: null, shadow: { origin: "mig-pool", model: "pool-model", share: 1 } },
      figures: { stage: "discovery", evals: { samples: 0 }, criteria: { verdict: "insufficient" }, canary: { stopped: null, trips: null } },
    });
    expect(s.history.at(-1)).toMatchObject({ version: expect.any(Number), stage: "discovery", forced: false });
    expect(s.since).toBe(s.history.at(-1).at);

    const read = await adminFetch(`/scenarios/${S}/migration`, { token: ADMIN_READ_TOKEN });
    expect(read.status).toBe(200);
    expect(await errorOf(adminFetch(`/scenarios/${S}/migration/stage`, { body: { to: "draft" }, token: ADMIN_READ_TOKEN }))).toMatchObject({ status: 403, code: "permission_denied" });
  });

  it("refuses, with a clear 4xx and no new version, what it cannot do", async () => {
    const before = await liveVersion();
    expect(await refusal(move("canary"))).toEqual({
      status: 409,
      code: "illegal_stage_move",
      message: "Stage 'discovery' → 'canary' skips draft, baseline, evals: move forward one stage at a time (next: 'draft').",
    });
    expect(await refusal(move("discovery"))).toMatchObject({ status: 409, code: "illegal_stage_move", message: "The migration is already in stage 'discovery'." });
    expect(await errorOf(move("launch"))).toEqual({ status: 400, code: "invalid_value", param: "to" });
    expect(await errorOf(adminFetch(`/scenarios/${S}/migration/stage`, { body: {} }))).toEqual({ status: 400, code: "invalid_value", param: "to" });
    expect(await errorOf(move("draft", { extra: 1 }))).toMatchObject({ status: 400, code: "invalid_value" });
    expect(await errorOf(move("draft", { force: "yes" }))).toEqual({ status: 400, code: "invalid_value", param: "force" });
    expect(await refusal(move("draft", {}, "no-such-scenario"))).toMatchObject({ status: 404, message: "Scenario 'no-such-scenario' was not found." });
    expect(await refusal(move("draft", {}, "chat-main"))).toMatchObject({ status: 404, message: "A migration of scenario 'chat-main' was not found." });
    expect((await adminFetch("/scenarios/no-such-scenario/migration")).status).toBe(404);
    // Its candidate's API key secret is not set: the move is refused with the problem at its path.
    const nokey = await move("baseline", {}, "chat-migrating-nokey");
    const error = ((await nokey.json()) as any).error;
    expect(nokey.status).toBe(400);
    expect(error).toMatchObject({ code: "invalid_config", param: "origins.nokey.apiKeySecret" });
    expect(error.problems).toEqual([{ path: "origins.nokey.apiKeySecret", message: 'secret "UNSET_API_KEY" is not set (wrangler secret put UNSET_API_KEY)' }]);
    expect(await liveVersion()).toBe(before);
  });

  it("each move is a config version: its author and message, a one-line diff, and an audit row with the figures", async () => {
    const before = await liveVersion();
    const draft = await moved("draft", { message: "the pool is deployed", actor: "ana@example.com", ifVersion: before });
    expect(draft).toMatchObject({ object: "scenario.migration.move", scenario: S, from: "discovery", to: "draft", kind: "forward", forced: false, overridden: [], canaryStopCleared: false });
    expect(draft.version).toMatchObject({ version: before + 1, message: "the pool is deployed", source: "admin" });
    expect(draft.version.author).toMatch(/^ana@example\.com \(admin:[0-9a-f]{8}\)$/);
    expect(draft.effectiveBy).toBeGreaterThan(Date.now());
    // The test config's unset secret elsewhere is a warning: this scenario does not use it.
    expect(draft.warnings).toEqual([{ path: "origins.nokey.apiKeySecret", message: 'secret "UNSET_API_KEY" is not set (wrangler secret put UNSET_API_KEY)' }]);
    const diff = await jsonOf<any>(adminFetch(`/config/diff?from=${before}&to=${before + 1}`));
    expect(diff.changes).toEqual([{ path: `scenarios.${S}.migration.stage`, op: "changed", from: "discovery", to: "draft" }]);

    const baseline = await moved("baseline");
    expect(baseline.version).toMatchObject({ version: before + 2, message: `migration of ${S}: draft → baseline` });
    const audit = await jsonOf<any>(adminFetch("/audit?action=scenario.migration.stage&limit=2"));
    expect(audit.data.map((e: any) => [e.target, e.summary.from, e.summary.to, e.summary.version, e.summary.forced])).toEqual([
      [S, "draft", "baseline", before + 2, false],
      [S, "discovery", "draft", before + 1, false],
    ]);
    expect(audit.data[0]).toMatchObject({ tenant: null, route: "/admin/scenarios/:scenario/migration/stage", actor: { token: "admin" } });
    expect(audit.data[0].summary.figures).toMatchObject({ stage: "draft", evals: { samples: 0 } });
  });

  it("baseline: every request is shadowed, and the pairs' figures are right to the request", async () => {
    const served: Served[] = [];
    for (let i = 0; i < 4; i++) served.push(await ask());
    expect(served.map((s) => s.origin)).toEqual(["mig-maas", "mig-maas", "mig-maas", "mig-maas"]);
    const s = await pairs(4);
    const { baseline, candidate, agreement } = s.figures.evals;

    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const usages = served.map((r) => usageOf(r.body));
    expect(baseline).toMatchObject({
      requests: 4,
      errors: 0,
      errorRate: 0,
      costMicros: { total: sum(usages.map((u) => costMicros(MAAS_PRICES, u))) },
      tokens: { prompt: sum(usages.map((u) => u.promptTokens)), cached: sum(usages.map((u) => u.cachedTokens)), completion: sum(usages.map((u) => u.completionTokens)) },
    });
    expect(baseline.ttftMs.p50).toBeGreaterThan(0);
    expect(baseline.ttftMs.p90).toBeGreaterThanOrEqual(baseline.ttftMs.p50);

    // The candidate's side is what its copies reported, priced at the pool's prices.
    const decisions = await jsonOf<any>(adminFetch(`/scenarios/${S}/decisions?limit=50`));
    const copies = served.map((r) => decisions.data.find((d: any) => d.requestId === r.requestId).shadowResult);
    expect(copies.map((c: any) => [c.origin, c.result])).toEqual(Array(4).fill(["mig-pool", "200"]));
    expect(candidate).toMatchObject({
      requests: 4,
      errors: 0,
      costMicros: { total: sum(copies.map((c: any) => costMicros(POOL_PRICES, { ...c, cacheWriteTokens: 0 }))) },
      tokens: { prompt: sum(copies.map((c: any) => c.promptTokens)), cached: sum(copies.map((c: any) => c.cachedTokens)), completion: sum(copies.map((c: any) => c.completionTokens)) },
    });
    expect(candidate.costMicros.total).toBe(sum(copies.map((c: any) => c.costMicros)));

    // Agreement: each served answer against what the pool answered to the very body it received.
    const similarities: number[] = [];
    for (const r of served) {
      const sent = await shadowSeen(r.requestId);
      const replay = await fetch(`${inject("simUrl")}/mig-pool/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(sent.body) });
      const answer = (await replay.json()) as any;
      similarities.push(textSimilarity(r.body.choices[0].message.content, answer.choices[0].message.content));
    }
    expect(agreement).toEqual({
      compared: 4,
      similarity: Math.round((sum(similarities) / 4) * 10_000) / 10_000,
      toolCalls: { compared: 0, same: 0 },
      json: { compared: 0, baselineValid: 0, candidateValid: 0 },
    });

    // Each side's cache is its own measurement: the pool's, never the MaaS API's copied over.
    const rate = (tokens: { prompt: number; cached: number }) => Math.round((tokens.cached / tokens.prompt) * 10_000) / 10_000;
    expect(candidate.tokens.cached).toBeGreaterThan(0);
    expect(baseline).toMatchObject({ tokens: { cached: 0 }, cacheHitRate: 0 });
    expect(candidate.cacheHitRate).toBe(rate(candidate.tokens));
    expect(s.figures.cache.candidate).toMatchObject({ hitRate: rate(candidate.tokens), source: "shadow copies", requests: 4, origins: [{ origin: "mig-pool", ttlSeconds: 600, minTokens: 16, stepTokens: 16 }] });
    expect(s.figures.cache.baseline.origins).toEqual([{ origin: "mig-maas", ttlSeconds: 300, minTokens: 1024, stepTokens: 128, cachedInputPriceRatio: 0.5 }]);

    // Streamed requests are compared too: each side from what its relay collected of the stream.
    for (let i = 0; i < 2; i++) {
      const res = await chat(key, { model: S, messages: nextQuestion(), stream: true });
      expect(res.status).toBe(200);
      const requestId = res.headers.get("x-request-id")!;
      const content = streamedContent(await res.text());
      expect(content.length).toBeGreaterThan(0);
      const sent = await shadowSeen(requestId);
      expect((sent.body as { stream?: boolean }).stream).toBe(true);
      const replay = await fetch(`${inject("simUrl")}/mig-pool/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(sent.body) });
      similarities.push(textSimilarity(content, streamedContent(await replay.text())));
    }
    const withStreams = await pairs(6);
    expect(withStreams.figures.evals.agreement).toEqual({
      compared: 6,
      similarity: Math.round((sum(similarities) / 6) * 10_000) / 10_000,
      toolCalls: { compared: 0, same: 0 },
      json: { compared: 0, baselineValid: 0, candidateValid: 0 },
    });
  });

  it("evals: promotion waits until the candidate meets the criteria on the evals stage's own pairs", async () => {
    const evals = await moved("evals");
    // The move carries the figures that justified it: the baseline stage's.
    expect(evals.figures).toMatchObject({ stage: "baseline", evals: { samples: 6 } });
    expect((await state()).figures.evals.samples).toBe(0);

    // The candidate fails two copies: too few pairs, and too many errors.
    for (let i = 0; i < 2; i++) expect((await ask({ sim: FAIL_CANDIDATE })).origin).toBe("mig-maas");
    await pairs(2);
    const early = await refusal(move("canary"));
    expect(early).toMatchObject({ status: 409, code: "criteria_not_met" });
    expect(early.message).toBe(
      `Promotion of '${S}' to 'canary' refused: minSamples: 2 paired requests, 4 needed; errorRate: candidate error rate 1 > 0.25. Send "force": true to promote anyway (recorded as forced).`,
    );

    for (let i = 0; i < 2; i++) await ask();
    const failing = await pairs(4);
    expect(failing.figures.criteria).toMatchObject({ verdict: "fail" });
    expect(failing.figures.evals.candidate).toMatchObject({ requests: 4, errors: 2, errorRate: 0.5 });
    expect((await refusal(move("canary"))).message).toMatch(/refused: errorRate: candidate error rate 0\.5 > 0\.25\./);

    for (let i = 0; i < 4; i++) await ask();
    const passing = await pairs(8);
    expect(passing.figures.criteria.verdict).toBe("pass");
    const canary = await moved("canary");
    expect(canary).toMatchObject({ from: "evals", to: "canary", forced: false, figures: { criteria: { verdict: "pass" } } });
    expect(canary.effective).toEqual({
      routing: "ordered",
      candidates: [{ origin: "mig-maas", model: "maas-model" }],
      canary: { origin: "mig-pool", model: "pool-model", share: 1, stop: { costMicrosPerRequest: MIG_CANARY_MAX_COST, minSamples: 2, acceptanceDrop: 0.2, minRated: 2 } },
      shadow: null,
    });
    // Its acceptance counts from the move: nothing judged on either side yet.
    expect((await state()).figures.canary).toMatchObject({ stopped: null, trips: null, judged: { canary: NONE, baseline: NONE, since: expect.any(Number) } });
  });

  it("canary: the candidate serves with fallback, its stop criteria fire, and promotion then needs force", async () => {
    const first = await ask();
    expect([first.origin, first.attempts]).toEqual(["mig-pool", "mig-pool;result=200"]);
    const fallback = await ask({ sim: FAIL_CANDIDATE });
    expect([fallback.origin, fallback.attempts]).toEqual(["mig-maas", "mig-pool;result=500, mig-maas;result=200"]);
    const second = await ask();
    expect(second.origin).toBe("mig-pool");

    // Feedback: the baseline's two answers accepted, the canary's two rejected.
    await settledAll(tenantId);
    const before = await perOrigin();
    expect(before["mig-maas"]).toMatchObject({ accepted: 0, rejected: 0, costPerAcceptedMicros: null });
    const lastEval = answered.filter((a) => a.origin === "mig-maas").at(-2)!;
    await rate(lastEval.requestId, true);
    await rate(fallback.requestId, true);
    await rate(first.requestId, false);
    await rate(second.requestId, false);
    // Cost per accepted outcome moves by exactly what was sent: the same cost over two accepted answers.
    const judged = await perOrigin();
    expect(judged["mig-maas"]).toEqual({ ...before["mig-maas"], accepted: 2, costPerAcceptedMicros: Math.round(before["mig-maas"]!.costMicros / 2) });
    expect(judged["mig-pool"]).toEqual({ ...before["mig-pool"], accepted: 0, rejected: 2, costPerAcceptedMicros: null });

    // The canary's acceptance (0 of 2) falls more than 20 points below the baseline's (2 of 2): it stops itself.
    const acceptanceStop = "acceptance 0 % of 2 rated answers < baseline 100 % of 2 − 20 points";
    let s = await stateWhen((x) => x.figures.canary.trips !== null);
    expect(s.figures.canary.trips).toBe(acceptanceStop);
    expect(s.figures.candidate.outcomes).toMatchObject({ accepted: 0, rejected: 2, acceptanceRate: 0 });
    expect(s.figures.baseline[0].outcomes).toMatchObject({ accepted: 2, rejected: 0, acceptanceRate: 1 });
    let next = await ask();
    for (let i = 0; i < 100 && next.origin === "mig-pool"; i++) next = await ask();
    expect(next.attempts).toBe("mig-maas;result=200");
    s = await stateWhen((x) => x.figures.canary.stopped !== null);
    expect(s.figures.canary.stopped.reason).toBe(acceptanceStop);

    // The operator fixes the model and resumes, the ratings unchanged: the canary serves again, its
    // acceptance judged only on the answers rated since the resume (the 0 of 2 would stop it again).
    const resume = async () => expect(await jsonOf<any>(adminFetch(`/scenarios/${S}/canary-stop`, { method: "DELETE" }))).toMatchObject({ origin: "mig-pool", resumed: true });
    // The resume takes both sides' counts as its start: the answers before it must be in them.
    await servedCounted();
    await resume();
    s = await state();
    expect(s.figures.canary).toMatchObject({ stopped: null, trips: null, judged: { canary: NONE, baseline: NONE, since: expect.any(Number) } });
    expect(s.figures.candidate.outcomes).toMatchObject({ accepted: 0, rejected: 2 });
    const third = await ask();
    expect(third.origin).toBe("mig-pool");
    const fallbacks = [await ask({ sim: FAIL_CANDIDATE }), await ask({ sim: FAIL_CANDIDATE })];
    expect(fallbacks.map((f) => f.origin)).toEqual(["mig-maas", "mig-maas"]);
    const fourth = await ask();
    expect(fourth.origin).toBe("mig-pool");
    // Two baseline answers accepted and one canary answer rejected since: one judged canary answer is fewer than minRated (2).
    for (const f of fallbacks) await rate(f.requestId, true);
    await rate(third.requestId, false);
    s = await stateWhen((x) => x.figures.canary.judged.canary.rejected === 1 && x.figures.canary.judged.baseline.accepted === 2);
    expect(s.figures.canary).toMatchObject({ stopped: null, trips: null, judged: { canary: { accepted: 0, rejected: 1 }, baseline: { accepted: 2, rejected: 0 } } });
    expect((await ask()).origin).toBe("mig-pool");
    // The second rejection since the resume: 0 of 2 against 2 of 2, and it stops itself again.
    await rate(fourth.requestId, false);
    s = await stateWhen((x) => x.figures.canary.trips !== null);
    expect(s.figures.canary.trips).toBe(acceptanceStop);
    expect(s.figures.candidate.outcomes).toMatchObject({ accepted: 0, rejected: 4 });
    next = await ask();
    for (let i = 0; i < 100 && next.origin === "mig-pool"; i++) next = await ask();
    expect(next.attempts).toBe("mig-maas;result=200");
    s = await stateWhen((x) => x.figures.canary.stopped !== null);
    expect(s.figures.canary.stopped.reason).toBe(acceptanceStop);
    await resume();
    expect((await ask()).origin).toBe("mig-pool");

    // An 8 KB prompt's estimated cost at the pool passes the canary's limit: it stops itself.
    const dear = await chat(key, { model: S, messages: [{ role: "user", content: "x".repeat(8_000) }] });
    expect(dear.headers.get("x-router-origin")).toBe("mig-maas");
    s = await stateWhen((x) => x.figures.canary.stopped !== null);
    expect(s.figures.canary.stopped.reason).toMatch(new RegExp(`^cost \\d+ µ\\$ per request > ${MIG_CANARY_MAX_COST}$`));
    expect((await ask()).origin).toBe("mig-maas");

    const refused = await refusal(move("primary"));
    expect(refused).toMatchObject({ status: 409, code: "criteria_not_met" });
    expect(refused.message).toContain(`the canary stopped: ${s.figures.canary.stopped.reason}`);
    const primary = await moved("primary", { force: true, message: "the cost stop was a drill" });
    expect(primary).toMatchObject({ from: "canary", to: "primary", forced: true, version: { message: "the cost stop was a drill [forced]" } });
    expect(primary.overridden).toEqual([`the canary stopped: ${s.figures.canary.stopped.reason}`]);
  });

  it("primary: the candidate serves first with the former route as fallback; rolled back, the baseline serves alone", async () => {
    expect((await ask()).attempts).toBe("mig-pool;result=200");
    expect((await ask({ sim: FAIL_CANDIDATE })).attempts).toBe("mig-pool;result=500, mig-maas;result=200");

    const back = await moved("rolled-back", { message: "quality complaints" });
    expect(back).toMatchObject({ kind: "rollback", effective: { candidates: [{ origin: "mig-maas", model: "maas-model" }], canary: null, shadow: null } });
    const after = await ask();
    expect(after.attempts).toBe("mig-maas;result=200");
    // No copy: by the time its lease has reported its row, a copy sent beside it would have arrived.
    await settledAll(tenantId);
    expect((await originSaw(after.requestId)).map((rec) => rec.origin)).toEqual(["mig-maas"]);
    // A rolled-back candidate passes evals again before it serves anyone.
    expect(await refusal(move("canary"))).toMatchObject({ status: 409, code: "illegal_stage_move" });
  });

  it("the history is the config's versions, with who, when, why, and the figures of each move", async () => {
    const s = await state();
    const walk = s.history.slice(-7);
    expect(walk.map((h: any) => [h.stage, h.forced])).toEqual([
      ["discovery", false],
      ["draft", false],
      ["baseline", false],
      ["evals", false],
      ["canary", false],
      ["primary", true],
      ["rolled-back", false],
    ]);
    expect(walk.slice(1).map((h: any) => h.from)).toEqual(["discovery", "draft", "baseline", "evals", "canary", "primary"]);
    expect(walk.slice(1).map((h: any) => h.message)).toEqual([
      "the pool is deployed",
      `migration of ${S}: draft → baseline`,
      `migration of ${S}: baseline → evals`,
      `migration of ${S}: evals → canary`,
      "the cost stop was a drill [forced]",
      "quality complaints",
    ]);
    expect(walk.slice(1).map((h: any) => h.figures.stage)).toEqual(["discovery", "draft", "baseline", "evals", "canary", "primary"]);
    expect(walk.slice(1).map((h: any) => h.figures.evals.samples)).toEqual([0, 0, 6, 8, 0, 0]);
    expect(walk[1].author).toMatch(/^ana@example\.com \(admin:[0-9a-f]{8}\)$/);
    for (let i = 1; i < walk.length; i++) expect(walk[i].at).toBeGreaterThanOrEqual(walk[i - 1].at);
  });

  it("concurrent moves: exactly one wins, the other is refused; a stale ifVersion is refused", async () => {
    const before = await liveVersion();
    const results = await Promise.all([move("evals"), move("evals")]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409]);
    const lost = await refusal(results.find((r) => r.status === 409)!);
    expect(["conflict", "illegal_stage_move"]).toContain(lost.code);
    expect(await liveVersion()).toBe(before + 1);
    expect((await state()).migration.stage).toBe("evals");

    expect(await refusal(move("baseline", { ifVersion: before }))).toEqual({
      status: 409,
      code: "conflict",
      message: `The live config is version ${before + 1}, not ${before}: read the migration again and redo the move.`,
    });
    expect(await liveVersion()).toBe(before + 1);
  });
});
