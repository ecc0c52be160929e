/**
 * `POST /v1/feedback` (issue #19 §1): a tenant's verdict on its own answers, stored in the usage
 * row, counted per scenario and origin in the usage summaries and the origin's monitor, and the cost
 * per accepted outcome it moves, to the micro-dollar. Failure paths: bad bodies, no key, another
 * tenant's request, an unknown id, a closed window, a request that got no answer, and concurrent
 * feedback on one request (last write wins, counts stay whole).
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { OutcomeStats } from "../../src/health/types";
import type { UsageRecord, UsageTotals } from "../../src/ledger/types";
import { newRequestId } from "../../src/lib/request-id";
import { adminFetch, api, chat, errorOf, jsonOf, ledgerCallsOf, ledgerOf, newTenant, settledAll } from "../support/client";

const HOUR_MS = 3_600_000;
/** The suite's `outcomes.feedbackWindowHours`. */
const WINDOW_HOURS = 24;

type Totals = UsageTotals;

async function rated(key: string, n: number, tenantId: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await chat(key, { model: "chat-rated", max_tokens: 8 });
    expect(res.status).toBe(200);
    ids.push(res.headers.get("x-request-id")!);
  }
  await settledAll(tenantId);
  return ids;
}

function feedback(key: string | null, body: unknown): Promise<Response> {
  return api("/feedback", key, body);
}

async function outcomesAt(origin: string, scenario: string): Promise<OutcomeStats | undefined> {
  return (await env.ORIGIN_MONITOR.getByName(origin).snapshot(Date.now())).outcomes[scenario];
}

/** Waits until the origin's monitor has counted `served` answers of the scenario (reports are batched). */
async function servedCounted(origin: string, scenario: string, served: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((await outcomesAt(origin, scenario))?.served === served) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`monitor of ${origin} never counted ${served} answers of ${scenario}`);
}

/** This isolate's lookups of feedback in tenants' ledgers so far. */
const feedbackLookups = () => ledgerCallsOf("recordFeedback");

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 500 && !ok(value); i++) {
    await new Promise((r) => setTimeout(r, 20));
    value = await read();
  }
  return value;
}

describe("POST /v1/feedback", () => {
  it("stores the verdict in the usage row and moves the cost per accepted outcome by exactly what was sent", async () => {
    const before = (await outcomesAt("out-maas", "chat-rated")) ?? { served: 0, accepted: 0, rejected: 0 };
    const { tenantId, key } = await newTenant();
    const ids = await rated(key, 3, tenantId);
    const rows = await Promise.all(ids.map((id) => ledgerOf(tenantId).usageOf(id)));
    const costs = rows.map((r) => r!.costMicros);
    const total = costs.reduce((a, b) => a + b, 0);
    expect(costs.every((c) => c > 0)).toBe(true);

    const summary = async (path: string) => (await jsonOf<{ group_by: string; data: Totals[] }>(path.startsWith("/admin") ? adminFetch(path.slice(6)) : api(path, key))).data;
    const unratedTotals = await summary("/usage/summary?group_by=model");
    expect(unratedTotals).toEqual([
      { group: "chat-rated", requests: 3, promptTokens: expect.any(Number), cachedTokens: 0, completionTokens: expect.any(Number), costMicros: total, errors: 0, accepted: 0, rejected: 0, unrated: 3, gatesPassed: 0, gatesFailed: 0, costPerAcceptedMicros: null },
    ]);

    const first = await feedback(key, { request_id: ids[0], accepted: true, score: 0.9, reason: "exactly right" });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({
      object: "feedback",
      request_id: ids[0],
      accepted: true,
      score: 0.9,
      reason: "exactly right",
      at: expect.any(Number),
      replaced: false,
      scenario: "chat-rated",
      origin: "out-maas",
    });
    expect((await jsonOf<Totals[] & { data: Totals[] }>(api("/usage/summary?group_by=model", key))).data[0]).toMatchObject({ accepted: 1, unrated: 2, costPerAcceptedMicros: total });

    expect((await feedback(key, { request_id: ids[1], accepted: true })).status).toBe(200);
    expect((await feedback(key, { request_id: ids[2], accepted: false, reason: "wrong language" })).status).toBe(200);
    const byScenarioOriginDay = await summary(`/admin/tenants/${tenantId}/usage/summary?group_by=model,origin,day`);
    expect(byScenarioOriginDay).toHaveLength(1);
    expect(byScenarioOriginDay[0]).toMatchObject({
      group: `chat-rated|out-maas|${rows[0]!.at && new Date(rows[0]!.at).toISOString().slice(0, 10)}`,
      by: { model: "chat-rated", origin: "out-maas", day: new Date(rows[0]!.at).toISOString().slice(0, 10) },
      requests: 3,
      costMicros: total,
      accepted: 2,
      rejected: 1,
      unrated: 0,
      costPerAcceptedMicros: Math.round(total / 2),
    });

    // A rater changes their mind: the last feedback stands, and the figure moves by exactly that.
    const changed = await jsonOf<{ replaced: boolean; accepted: boolean }>(feedback(key, { request_id: ids[2], accepted: true }));
    expect(changed).toMatchObject({ replaced: true, accepted: true });
    expect((await summary("/usage/summary?group_by=origin"))[0]).toMatchObject({ group: "out-maas", accepted: 3, rejected: 0, unrated: 0, costPerAcceptedMicros: Math.round(total / 3) });

    const record = await jsonOf<UsageRecord>(api(`/usage/${ids[0]}`, key));
    expect(record.feedback).toEqual({ accepted: true, score: 0.9, reason: "exactly right", at: expect.any(Number) });
    expect(record.gates).toBeNull();
    expect((await jsonOf<UsageRecord>(api(`/usage/${ids[2]}`, key))).feedback).toEqual({ accepted: true, score: null, reason: null, at: expect.any(Number) });

    // The CSV export names the verdict.
    const csv = (await (await api("/usage?format=csv", key)).text()).trim().split("\n");
    expect(csv[0]!.endsWith(",feedback,gates")).toBe(true);
    expect(csv.slice(1).every((line) => line.endsWith(",accepted,"))).toBe(true);

    // The origin's monitor counts the answers it served and how they were judged.
    await servedCounted("out-maas", "chat-rated", before.served + 3);
    const after = await eventually(
      () => outcomesAt("out-maas", "chat-rated"),
      (o) => o?.accepted === before.accepted + 3,
    );
    expect(after).toMatchObject({ served: before.served + 3, accepted: before.accepted + 3, rejected: before.rejected });
  });

  it("refuses bad bodies with a 400 naming the field", async () => {
    const { tenantId, key } = await newTenant();
    const [id] = await rated(key, 1, tenantId);
    expect(await errorOf(feedback(key, { request_id: id }))).toEqual({ status: 400, code: "invalid_value", param: "accepted" });
    expect(await errorOf(feedback(key, { request_id: id, accepted: "yes" }))).toMatchObject({ status: 400, param: "accepted" });
    expect(await errorOf(feedback(key, { request_id: id, accepted: true, score: 1.5 }))).toMatchObject({ status: 400, param: "score" });
    expect(await errorOf(feedback(key, { request_id: id, accepted: true, score: -0.1 }))).toMatchObject({ status: 400, param: "score" });
    expect(await errorOf(feedback(key, { request_id: id, accepted: true, reason: "x".repeat(1001) }))).toMatchObject({ status: 400, param: "reason" });
    expect(await errorOf(feedback(key, { request_id: id, accepted: true, rating: 5 }))).toMatchObject({ status: 400 });
    expect(await errorOf(feedback(key, { accepted: true }))).toMatchObject({ status: 400, param: "request_id" });
    expect((await errorOf(feedback(key, "{not json"))).status).toBe(400);
    expect((await errorOf(feedback(key, [1, 2]))).status).toBe(400);
    expect((await errorOf(feedback(null, { request_id: id, accepted: true }))).status).toBe(401);
    expect((await errorOf(feedback("tr-nobody-forged", { request_id: id, accepted: true }))).status).toBe(401);
    // Nothing was recorded by any of them.
    expect((await ledgerOf(tenantId).usageOf(id!))!.feedback).toBeNull();
  });

  it("answers another tenant's request and an unknown one alike: 404, nothing changed", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const [id] = await rated(a.key, 1, a.tenantId);
    const unknown = `req_${"0".repeat(32)}`;
    const theirs = await feedback(b.key, { request_id: id, accepted: false });
    const none = await feedback(b.key, { request_id: unknown, accepted: false });
    expect(theirs.status).toBe(404);
    expect(none.status).toBe(404);
    const message = (res: unknown, rid: string) => JSON.stringify(res).replace(rid, "<id>");
    expect(message(await theirs.json(), id!)).toBe(message(await none.json(), unknown));
    expect(await errorOf(feedback(a.key, { request_id: "not-an-id", accepted: true }))).toMatchObject({ status: 404, param: "request_id" });
    expect((await ledgerOf(a.tenantId).usageOf(id!))!.feedback).toBeNull();
  });

  it("finds the row of an answer rated at once, however its lease stands: this isolate sends the rows it holds before looking", async () => {
    const { tenantId, key } = await newTenant();
    // The key's first request is admitted by the ledger, which grants this isolate a lease; the
    // requests after it are admitted under a lease, and a row waits for its lease's next report
    // (200 ms), unless a renewal closes the lease first and its last report carries the row.
    await rated(key, 1, tenantId);
    const lookupsPerFeedback: number[] = [];
    for (let i = 0; i < 6; i++) {
      const answer = await chat(key, { model: "chat-rated", max_tokens: 8 });
      expect(answer.status).toBe(200);
      const id = answer.headers.get("x-request-id")!;
      const before = await feedbackLookups();
      const res = await feedback(key, { request_id: id, accepted: i % 2 === 0, score: i / 10 });
      expect(res.status).toBe(200);
      lookupsPerFeedback.push((await feedbackLookups()) - before);
      expect(await res.json()).toMatchObject({ request_id: id, accepted: i % 2 === 0, replaced: false, scenario: "chat-rated" });
      expect((await ledgerOf(tenantId).usageOf(id))!.feedback).toMatchObject({ accepted: i % 2 === 0, score: i / 10 });
    }
    // Found at the first look (a renewal had already brought the row), or at the one right after
    // this isolate sent its rows; never by waiting out the report delay (a third look, at 250 ms).
    expect(lookupsPerFeedback.filter((n) => n !== 1 && n !== 2)).toEqual([]);
    expect(lookupsPerFeedback).toContain(2);
  });

  it("waits for rows on their way only a few at a time per tenant: made-up recent ids past that get their 404 at once", async () => {
    const { key } = await newTenant();
    const before = await feedbackLookups();
    // Six ids of this router's shape from this very moment, none of them a request.
    const made = Array.from({ length: 6 }, () => newRequestId(Date.now()));
    const answers = await Promise.all(made.map((id) => feedback(key, { request_id: id, accepted: true })));
    expect(answers.map((r) => r.status)).toEqual([404, 404, 404, 404, 404, 404]);
    // Four waited: a first look, one after this isolate's reports, three more over 1.75 s; two did not.
    expect((await feedbackLookups()) - before).toBe(4 * 5 + 2 * 1);
    // Ids from more than an hour ago, or from well ahead of now, are never waited for.
    const old = newRequestId(Date.now() - 2 * HOUR_MS);
    const ahead = newRequestId(Date.now() + 60_000);
    const start = await feedbackLookups();
    expect((await errorOf(feedback(key, { request_id: old, accepted: true }))).status).toBe(404);
    expect((await errorOf(feedback(key, { request_id: ahead, accepted: true }))).status).toBe(404);
    expect((await feedbackLookups()) - start).toBe(2);
  });

  it("waits a moment for a row another isolate is still reporting, then records the feedback on it", async () => {
    const { tenantId, key } = await newTenant();
    const id = newRequestId(Date.now());
    const sent = feedback(key, { request_id: id, accepted: false, reason: "too slow" });
    // The row arrives 300 ms later, as another isolate's lease report would bring it.
    await new Promise((r) => setTimeout(r, 300));
    const at = Date.now();
    const row = { requestId: id, at, keyId: "key_elsewhere", endpoint: "chat" as const, scenario: "chat-rated", origin: "out-maas", model: "m", stream: false, promptTokens: 3, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 2, costMicros: 7, usageSource: "origin" as const, status: 200, outcome: "ok", latencyMs: 5 };
    expect(await ledgerOf(tenantId).settle(row)).toBe(true);
    const res = await sent;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ request_id: id, accepted: false, reason: "too slow", replaced: false });
    expect((await ledgerOf(tenantId).usageOf(id))!.feedback).toMatchObject({ accepted: false, reason: "too slow" });
  });

  it("closes the window the operator set: 409 feedback_window_closed, and the earlier verdict stands", async () => {
    const { tenantId, key } = await newTenant();
    const [id, other] = await rated(key, 2, tenantId);
    expect((await feedback(key, { request_id: id, accepted: true })).status).toBe(200);
    // The requests made a window and a minute ago (their rows moved back in time; the window is the suite's 24 hours).
    await runInDurableObject(ledgerOf(tenantId), (_, state) => {
      state.storage.sql.exec("UPDATE usage SET at = at - ?", WINDOW_HOURS * HOUR_MS + 60_000);
    });
    const closed = await feedback(key, { request_id: id, accepted: false });
    expect(closed.status).toBe(409);
    const { error } = (await closed.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("feedback_window_closed");
    expect(error.message).toContain("24 hours after the request");
    expect(await errorOf(feedback(key, { request_id: other, accepted: true }))).toMatchObject({ status: 409, code: "feedback_window_closed" });
    expect((await ledgerOf(tenantId).usageOf(id!))!.feedback).toMatchObject({ accepted: true });

    // Just inside the window, feedback is still taken.
    await runInDurableObject(ledgerOf(tenantId), (_, state) => {
      state.storage.sql.exec("UPDATE usage SET at = at + ?", 10 * 60_000);
    });
    expect((await feedback(key, { request_id: other, accepted: true })).status).toBe(200);
  });

  it("refuses a request that got no answer to judge: 409 request_not_answered", async () => {
    const { tenantId, key } = await newTenant();
    const [id] = await rated(key, 1, tenantId);
    await runInDurableObject(ledgerOf(tenantId), (_, state) => {
      state.storage.sql.exec("UPDATE usage SET status = 502, outcome = 'upstream_error' WHERE request_id = ?", id);
    });
    expect(await errorOf(feedback(key, { request_id: id, accepted: true }))).toMatchObject({ status: 409, code: "request_not_answered" });
  });

  it("takes concurrent feedback on one request one at a time: the last stands, and every count stays whole", async () => {
    const before = (await outcomesAt("out-maas", "chat-rated")) ?? { served: 0, accepted: 0, rejected: 0 };
    const { tenantId, key } = await newTenant();
    const [id] = await rated(key, 1, tenantId);
    await servedCounted("out-maas", "chat-rated", before.served + 1);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => feedback(key, { request_id: id, accepted: i % 2 === 0, score: i / 20 })));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    const replaced = await Promise.all(answers.map((r) => r.json() as Promise<{ replaced: boolean }>));
    expect(replaced.filter((r) => !r.replaced)).toHaveLength(1);
    const row = (await ledgerOf(tenantId).usageOf(id!))!;
    const totals = (await jsonOf<{ data: Totals[] }>(api("/usage/summary?group_by=model", key))).data[0]!;
    expect(totals.accepted + totals.rejected).toBe(1);
    expect(totals.accepted).toBe(row.feedback!.accepted ? 1 : 0);
    // The monitor's counts move by each change the ledger made, in any order: they end at the row's verdict.
    const want = { accepted: before.accepted + (row.feedback!.accepted ? 1 : 0), rejected: before.rejected + (row.feedback!.accepted ? 0 : 1) };
    const after = await eventually(
      () => outcomesAt("out-maas", "chat-rated"),
      (o) => o?.accepted === want.accepted && o?.rejected === want.rejected,
    );
    expect(after).toMatchObject(want);
  });
});
