/**
 * Automatic quality gates (issue #19 §1), opted into by `chat-gated`: JSON that parses and matches
 * the requested schema, no `finish_reason: length`, tool-call arguments that parse. Judged on whole
 * answers and on streams from what the relay saw; stored in the usage row, counted in the usage
 * summaries and the origin's monitor. The pure judgments (a schema mismatch, broken arguments) are
 * checked on `judge` directly: the simulator always answers a schema with a matching instance.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { answerOfJson, judge, StreamAnswer } from "../../src/outcomes/gates";
import type { UsageRecord } from "../../src/ledger/types";
import { api, chat, jsonOf, newTenant, settledAll, usageOf } from "../support/client";

const ALL = { json: true, finishReason: true, toolArguments: true };
const SCHEMA = {
  type: "object",
  properties: { city: { type: "string" }, population: { type: "integer" } },
  required: ["city", "population"],
  additionalProperties: false,
};
const JSON_SCHEMA_FORMAT = { type: "json_schema", json_schema: { name: "city", strict: true, schema: SCHEMA } };
const WEATHER_TOOL = {
  type: "function",
  function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
};

describe("judge (pure)", () => {
  const asked = { response_format: JSON_SCHEMA_FORMAT };
  it("passes JSON that matches the schema asked for, and fails JSON that does not, or does not parse", () => {
    const answer = (content: string, finish = "stop") => ({ content, toolCalls: [], finishReasons: [finish] });
    expect(judge(ALL, asked, answer('{"city":"Oslo","population":709000}'))).toEqual({ passed: true, checks: { json: true, schema: true, finishReason: true } });
    expect(judge(ALL, asked, answer('{"city":"Oslo"}'))).toEqual({ passed: false, checks: { json: true, schema: false, finishReason: true } });
    expect(judge(ALL, asked, answer('{"city":"Os', "length"))).toEqual({ passed: false, checks: { json: false, schema: false, finishReason: false } });
    expect(judge(ALL, { response_format: { type: "json_object" } }, answer("[1,2]"))).toEqual({ passed: true, checks: { json: true, finishReason: true } });
  });

  it("checks tool arguments as JSON objects, and applies only the gates that are on and relevant", () => {
    const calls = (args: string) => ({ content: "", toolCalls: [{ name: "get_weather", arguments: args }], finishReasons: ["tool_calls"] });
    expect(judge(ALL, {}, calls('{"city":"Oslo"}'))).toEqual({ passed: true, checks: { finishReason: true, toolArguments: true } });
    expect(judge(ALL, {}, calls('{"city":'))).toEqual({ passed: false, checks: { finishReason: true, toolArguments: false } });
    expect(judge(ALL, {}, calls('"Oslo"'))).toEqual({ passed: false, checks: { finishReason: true, toolArguments: false } });
    expect(judge({ json: true, finishReason: false, toolArguments: false }, {}, { content: "hi", toolCalls: [], finishReasons: ["length"] })).toBeNull();
    expect(judge({ json: false, finishReason: true, toolArguments: false }, {}, { content: "hi", toolCalls: [], finishReasons: ["stop", "length"] })).toEqual({ passed: false, checks: { finishReason: false } });
  });

  it("reads whole answers and streams alike", () => {
    expect(answerOfJson({ choices: [{ index: 0, message: { content: "{}" }, finish_reason: "stop" }] })).toEqual({ content: "{}", toolCalls: [], finishReasons: ["stop"] });
    expect(answerOfJson({ object: "list", data: [] })).toBeNull();
    const stream = new StreamAnswer();
    stream.add({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: "c1", function: { name: "get_weather", arguments: "" } }] } }] });
    stream.add({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] } }] });
    stream.add({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }, finish_reason: "tool_calls" }] });
    expect(stream.answer()).toEqual({ content: "", toolCalls: [{ name: "get_weather", arguments: '{"city":"Oslo"}' }], finishReasons: ["tool_calls"] });
  });
});

async function gatesOf(tenantId: string, res: Response): Promise<UsageRecord["gates"]> {
  expect(res.status).toBe(200);
  await res.text();
  return (await usageOf(tenantId, res.headers.get("x-request-id")!)).gates;
}

describe("quality gates on served answers", () => {
  it("judge whole and streamed answers, and are counted in the usage summaries and the origin's monitor", async () => {
    const monitor = env.ORIGIN_MONITOR.getByName("out-pool");
    const before = (await monitor.snapshot(Date.now())).outcomes["chat-gated"] ?? { served: 0, gatesPassed: 0, gatesFailed: 0 };
    const { tenantId, key } = await newTenant();
    const base = { model: "chat-gated" };

    expect(await gatesOf(tenantId, await chat(key, { ...base, response_format: JSON_SCHEMA_FORMAT, max_tokens: 200 }))).toEqual({ passed: true, checks: { json: true, schema: true, finishReason: true } });
    expect(await gatesOf(tenantId, await chat(key, { ...base, response_format: JSON_SCHEMA_FORMAT, max_tokens: 200, stream: true }))).toEqual({
      passed: true,
      checks: { json: true, schema: true, finishReason: true },
    });
    expect(await gatesOf(tenantId, await chat(key, { ...base, max_tokens: 1 }))).toEqual({ passed: false, checks: { finishReason: false } });
    expect(await gatesOf(tenantId, await chat(key, { ...base, max_tokens: 1, stream: true }))).toEqual({ passed: false, checks: { finishReason: false } });
    const tools = { ...base, tools: [WEATHER_TOOL], tool_choice: "required", max_tokens: 200 };
    expect(await gatesOf(tenantId, await chat(key, tools))).toEqual({ passed: true, checks: { finishReason: true, toolArguments: true } });
    expect(await gatesOf(tenantId, await chat(key, { ...tools, stream: true }))).toEqual({ passed: true, checks: { finishReason: true, toolArguments: true } });
    // A scenario without gates judges nothing.
    expect(await gatesOf(tenantId, await chat(key, { model: "chat-rated", max_tokens: 1 }))).toBeNull();
    await settledAll(tenantId);

    const totals = (await jsonOf<{ data: Array<{ group: string; gatesPassed: number; gatesFailed: number; unrated: number }> }>(api("/usage/summary?group_by=model", key))).data;
    expect(totals.map((t) => [t.group, t.gatesPassed, t.gatesFailed, t.unrated])).toEqual([
      ["chat-gated", 4, 2, 6],
      ["chat-rated", 0, 0, 1],
    ]);

    let after = (await monitor.snapshot(Date.now())).outcomes["chat-gated"];
    for (let i = 0; i < 500 && after?.served !== before.served + 6; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = (await monitor.snapshot(Date.now())).outcomes["chat-gated"];
    }
    expect(after).toMatchObject({ served: before.served + 6, gatesPassed: before.gatesPassed + 4, gatesFailed: before.gatesFailed + 2 });
  });
});
