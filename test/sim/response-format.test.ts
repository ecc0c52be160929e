/** `response_format`: JSON content that parses, and fits the schema; capped JSON is cut like a real model's. */
import { describe, expect, it } from "vitest";
import { chat, fixedClock, makeSim, user } from "./helpers";

const sim = () => makeSim({ origins: { a: {} } }, fixedClock());
const HI = { model: "m", messages: [user("hi")] };
const PERSON = {
  type: "json_schema",
  json_schema: {
    name: "person",
    strict: true,
    schema: { type: "object", properties: { name: { type: "string" }, age: { type: "integer", minimum: 0, maximum: 120 } }, required: ["name", "age"], additionalProperties: false },
  },
};

type Body = { choices: Array<{ message: { content: string }; finish_reason: string }>; usage: { completion_tokens: number } };

describe("response_format", () => {
  it("json_schema: every choice is an instance of the schema; completion tokens are 4-byte pieces of the JSON", async () => {
    const body = (await (await chat(sim(), "a", { ...HI, n: 2, response_format: PERSON })).json()) as Body;
    expect(body.choices.map((c) => c.message.content)).toEqual(['{"name":"gamma","age":79}', '{"name":"quick","age":104}']);
    expect(body.choices.map((c) => c.finish_reason)).toEqual(["stop", "stop"]);
    expect(body.usage.completion_tokens).toBe(Math.ceil(25 / 4) + Math.ceil(26 / 4));
  });

  it("json_object: an object holding the text answer", async () => {
    const body = (await (await chat(sim(), "a", { ...HI, response_format: { type: "json_object" } })).json()) as Body;
    expect(JSON.parse(body.choices[0]?.message.content ?? "")).toEqual({
      answer: "gamma answer delta block chain router quick delta latency request to router worker chain brown",
    });
  });

  it("a cap cuts the JSON mid-way with finish_reason length", async () => {
    const body = (await (await chat(sim(), "a", { ...HI, response_format: PERSON, max_completion_tokens: 2 })).json()) as Body;
    expect(body.choices[0]).toMatchObject({ message: { content: '{"name":' }, finish_reason: "length" }); // two pieces: '{"na', 'me":'
  });

  it("type text, or a format it does not know, answers in words", async () => {
    for (const response_format of [{ type: "text" }, { type: "xml" }, "json", null]) {
      const body = (await (await chat(sim(), "a", { ...HI, max_tokens: 2, response_format })).json()) as Body;
      expect(body.choices[0]?.message.content).toBe("gamma answer ");
    }
  });
});
