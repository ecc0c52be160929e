/**
 * `POST /v1/responses` on the simulator (issue #17): served by the profiles whose servers speak the
 * Responses API (openai, vllm), with the chat answer the same prompt gets, in the Responses shape;
 * streamed as OpenAI streams it, faults included; nothing stored.
 */
import { describe, expect, it } from "vitest";
import { chat, fixedClock, makeSim, post, readChunks, user } from "./helpers";

const sim = () => makeSim({ origins: { a: { profile: "vllm" }, d: { profile: "deepseek" }, r: { profile: "openrouter" } } }, fixedClock());

interface Event {
  type: string;
  delta?: string;
  message?: string;
  response?: { status: string; usage?: Record<string, unknown>; output: unknown[] };
}

const eventsOf = (chunks: string[]): Event[] =>
  chunks
    .join("")
    .split("\n\n")
    .filter((e) => e.startsWith("event: "))
    .map((e) => JSON.parse(e.slice(e.indexOf("data: ") + 6)) as Event);

describe("POST /v1/responses on the simulator", () => {
  it("answers what chat answers the same prompt, in the Responses shape", async () => {
    const [asChat, asResponse] = await Promise.all([chat(sim(), "a", { model: "m", messages: [user("hi")] }), post(sim(), "a", "responses", { model: "m", input: "hi", store: false })]);
    const completion = (await asChat.json()) as { choices: Array<{ message: { content: string } }>; usage: { prompt_tokens: number; completion_tokens: number } };
    const { prompt_tokens: input, completion_tokens: output } = completion.usage;
    expect(asResponse.status).toBe(200);
    expect(await asResponse.json()).toMatchObject({
      id: "resp_sim-1",
      object: "response",
      created_at: 1000,
      completed_at: 1000,
      status: "completed",
      model: "m",
      store: false,
      output: [{ id: "msg_sim-1_0", type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: completion.choices[0]!.message.content, annotations: [] }] }],
      usage: { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output },
    });
  });

  it("streams the Responses events, usage in response.completed", async () => {
    const res = await post(sim(), "a", "responses", { model: "m", input: "hi", stream: true });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const events = eventsOf(await readChunks(res));
    const deltas = events.filter((e) => e.type === "response.output_text.delta");
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      ...deltas.map(() => "response.output_text.delta"),
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events.at(-1)!.response!.usage).toMatchObject({ output_tokens: deltas.length });
  });

  it("answers a function tool with a function call", async () => {
    const tool = { type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } };
    const res = await post(sim(), "a", "responses", { model: "m", input: "weather in Paris?", tools: [tool] });
    const body = (await res.json()) as { output: Array<{ type: string; name: string; arguments: string }> };
    expect(body.output).toMatchObject([{ type: "function_call", name: "get_weather" }]);
    expect(JSON.parse(body.output[0]!.arguments)).toEqual({ city: expect.any(String) });
  });

  it("applies stream faults: an error event becomes error and response.failed; a cut breaks the body", async () => {
    const failed = eventsOf(await readChunks(await post(sim(), "a", "responses", { model: "m", input: "hi", stream: true, sim: { a: { errorEventAfterChunks: 1, message: "boom" } } })));
    expect(failed.slice(-2).map((e) => [e.type, e.message ?? e.response!.status])).toEqual([
      ["error", "boom"],
      ["response.failed", "failed"],
    ]);
    const cut = await post(sim(), "a", "responses", { model: "m", input: "hi", stream: true, sim: { a: { cutAfterChunks: 1 } } });
    await expect(readChunks(cut)).rejects.toThrow(/cut/);
  });

  it("is a 404 on profiles whose servers do not serve it, a 400 for what it cannot do", async () => {
    for (const origin of ["d", "r"]) expect((await post(sim(), origin, "responses", { model: "m", input: "hi" })).status).toBe(404);
    const chained = await post(sim(), "a", "responses", { model: "m", input: "hi", previous_response_id: "resp_1" });
    expect(chained.status).toBe(400);
    expect(((await chained.json()) as { error: { param: string } }).error.param).toBe("previous_response_id");
    const invalid = await post(sim(), "a", "responses", { model: "m" });
    expect(((await invalid.json()) as { error: { param: string } }).error.param).toBe("input");
  });
});
