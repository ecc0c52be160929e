/**
 * The official openai SDK as a client: if it parses our answers (including its default base64
 * embeddings, which it decodes itself), real clients will too.
 */
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { embeddingVector } from "../../src/sim";
import { makeSim } from "./helpers";

function client(): OpenAI {
  const sim = makeSim({ origins: { a: { apiKey: "sk-test", embeddingDims: 12 } } });
  return new OpenAI({
    apiKey: "sk-test",
    baseURL: "http://sim/a/v1",
    maxRetries: 0,
    fetch: (input, init) => sim.fetch(new Request(input, init)),
  });
}

describe("openai SDK compatibility", () => {
  it("chat completion", async () => {
    const res = await client().chat.completions.create({ model: "m", messages: [{ role: "user", content: "hi" }] });
    expect(res.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(res.usage?.prompt_tokens).toBe(Math.ceil("m<|user|>hi".length / 4));
  });

  it("streamed chat completion with usage", async () => {
    const stream = await client().chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.split(" ").filter(Boolean)).toHaveLength(usage?.completion_tokens ?? -1);
  });

  it("embeddings: the SDK's default base64 round-trips to our float vectors", async () => {
    const res = await client().embeddings.create({ model: "e", input: ["one", "two"] });
    expect(res.data.map((d) => d.embedding)).toEqual([
      Array.from(embeddingVector("one", 12)),
      Array.from(embeddingVector("two", 12)),
    ]);
  });

  it("surfaces injected errors as APIError with the status", async () => {
    const c = client();
    const err = await c.chat.completions
      .create({ model: "m", messages: [{ role: "user", content: "hi" }], ...({ sim: { "*": { status: 429 } } } as object) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
  });
});
