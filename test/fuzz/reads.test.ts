/**
 * Fuzzing what a key may read: `GET /v1/models`, `/v1/models/{model}`, `/v1/usage`,
 * `/v1/usage/summary` and `/v1/budgets`, with odd model names and query strings (unknown
 * parameters, bad instants, huge numbers, bad cursors, every format and grouping). The tenant has
 * usage rows and a budget, so the valid queries have something to return.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { addBudget, chat, newTenant, settledAll } from "../support/client";
import { pathSegment, queryString } from "./arbitraries";
import { countStatuses, expectHealthy, expectWellFormed, fuzz, send, unlimited } from "./support";

const USAGE_PARAMS = ["from", "to", "key", "model", "origin", "limit", "cursor", "format"] as const;

const path: fc.Arbitrary<string> = fc.oneof(
  fc.constant("/v1/models"),
  fc.oneof(fc.constantFrom("chat-main", "embed-main", "chat-pool", "a/b/c"), pathSegment).map((m) => `/v1/models/${m}`),
  queryString(USAGE_PARAMS).map((q) => `/v1/usage${q}`),
  queryString([...USAGE_PARAMS, "group_by"]).map((q) => `/v1/usage/summary${q}`),
  queryString(["x", "at"]).map((q) => `/v1/budgets${q}`),
  // A cursor of our shape (base64 of "<at>:<id>") with odd parts.
  fc.tuple(fc.oneof(fc.constantFrom("0", "9".repeat(30), "9".repeat(400), "-1", "1.5", ""), fc.nat().map(String)), fc.constantFrom("req_x", "", "'; DROP TABLE usage; --", ":"))
    .map(([at, id]) => `/v1/usage?cursor=${encodeURIComponent(btoa(`${at}:${id}`))}`),
);

let key = "";

beforeAll(async () => {
  const tenant = await newTenant();
  key = tenant.key;
  await unlimited(tenant.tenantId);
  await addBudget(tenant.tenantId, { metric: "cost", period: "month", limit: 1_000_000_000 });
  for (const model of ["chat-main", "chat-pool", "chat-deepseek"]) expect((await chat(key, { model })).status).toBe(200);
  await settledAll(tenant.tenantId);
});

describe("fuzz: GET /v1/models, /v1/usage, /v1/usage/summary, /v1/budgets", () => {
  it("answers 250 odd reads below 500, OpenAI-shaped", async () => {
    const statuses = countStatuses();
    await fuzz(path, 250, async (path) => {
      const req = { method: "GET", path, headers: { authorization: `Bearer ${key}` } };
      const checked = await expectWellFormed(await send(req), req);
      statuses.add(checked.status);
    });
    expect(statuses.of(200)).toBeGreaterThan(50);
    expect(statuses.of(400)).toBeGreaterThan(50);
    await expectHealthy(key);
  });
});
