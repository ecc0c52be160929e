/**
 * Fuzzing `POST /v1/embeddings` with a valid key: inputs of every shape (strings, string arrays,
 * token arrays, nested arrays, empty, negative or huge ids, unicode), odd models, encodings and
 * dimensions. The valid ones are served (200); everything else is an OpenAI-shaped 4xx.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { newTenant } from "../support/client";
import { anyBody, anyJson, anyText, apiHeaders, oddCount } from "./arbitraries";
import { countStatuses, expectHealthy, expectWellFormed, fuzz, send, unlimited } from "./support";

const input: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: anyText },
  { weight: 3, arbitrary: fc.array(anyText, { minLength: 1, maxLength: 4 }) },
  { weight: 2, arbitrary: fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.array(fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }) },
  { weight: 2, arbitrary: fc.constantFrom([], [[]], [""], [-1], [1.5], [2 ** 53], ["a", 1], [["a"]], null, 0, {}) },
  { weight: 1, arbitrary: anyJson(3) },
);

const embeddingsBody: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record(
        {
          model: fc.oneof({ weight: 5, arbitrary: fc.constant("embed-main") }, { weight: 1, arbitrary: fc.oneof(fc.constantFrom("chat-main", "constructor", ""), anyText, anyJson(1)) }),
          input,
          encoding_format: fc.oneof({ weight: 3, arbitrary: fc.constantFrom("float", "base64") }, { weight: 1, arbitrary: fc.oneof(anyText, anyJson(1)) }),
          dimensions: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 64 }) }, { weight: 1, arbitrary: fc.oneof(oddCount, fc.constant(65_537)) }),
          user: anyText,
        },
        { requiredKeys: ["model", "input"] },
      )
      .map((b) => JSON.stringify(b)),
  },
  { weight: 1, arbitrary: anyBody },
);

let key = "";

beforeAll(async () => {
  const tenant = await newTenant();
  key = tenant.key;
  await unlimited(tenant.tenantId);
});

describe("fuzz: POST /v1/embeddings", () => {
  it("answers 200 malformed or odd embeddings requests below 500, OpenAI-shaped, and serves the valid ones", async () => {
    const statuses = countStatuses();
    await fuzz(fc.record({ body: embeddingsBody, headers: apiHeaders }), 200, async ({ body, headers }) => {
      const req = { method: "POST", path: "/v1/embeddings", headers: { ...headers, authorization: `Bearer ${key}` }, body };
      const res = await send(req);
      const type = res.headers.get("content-type");
      const checked = await expectWellFormed(res, req);
      statuses.add(checked.status);
      if (checked.status === 200) expect(type).toBe("application/json");
    });
    expect(statuses.of(200)).toBeGreaterThan(30);
    expect(statuses.of(400)).toBeGreaterThan(30);
    await expectHealthy(key);
  });
});
