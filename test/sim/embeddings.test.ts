/** Embeddings: deterministic unit vectors, float and base64 encodings, token-array inputs. */
import { describe, expect, it } from "vitest";
import { embeddingVector } from "../../src/sim";
import { makeSim, post, tokensOf } from "./helpers";

interface EmbeddingList<T> {
  object: string;
  model: string;
  data: Array<{ object: string; index: number; embedding: T }>;
  usage?: { prompt_tokens: number; total_tokens: number };
}

const sim = () => makeSim({ origins: { e: { embeddingDims: 8 } } });

/** Decodes base64 little-endian float32, as the openai SDK does. */
function decodeBase64(b64: string): number[] {
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  const view = new DataView(bytes.buffer);
  return Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

describe("embeddings", () => {
  it("returns one unit-norm vector per input, with usage", async () => {
    const res = await post(sim(), "e", "embeddings", { model: "emb", input: ["hello", "world"] });
    expect(res.status).toBe(200);
    const json = (await res.json()) as EmbeddingList<number[]>;
    expect(json.object).toBe("list");
    expect(json.model).toBe("emb");
    expect(json.data.map((d) => [d.object, d.index, d.embedding.length])).toEqual([
      ["embedding", 0, 8],
      ["embedding", 1, 8],
    ]);
    for (const d of json.data) expect(Math.hypot(...d.embedding)).toBeCloseTo(1, 5);
    expect(json.data[0]?.embedding).not.toEqual(json.data[1]?.embedding);
    const tokens = tokensOf("hello") + tokensOf("world");
    expect(json.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
  });

  it("is deterministic and depends on the input only", async () => {
    const a = (await (await post(sim(), "e", "embeddings", { model: "x", input: "same" })).json()) as EmbeddingList<number[]>;
    const b = (await (await post(sim(), "e", "embeddings", { model: "y", input: "same" })).json()) as EmbeddingList<number[]>;
    expect(a.data[0]?.embedding).toEqual(b.data[0]?.embedding);
    expect(a.data[0]?.embedding).toEqual(Array.from(embeddingVector("same", 8)));
  });

  it("base64 decodes (little-endian float32) to exactly the float vector", async () => {
    const s = sim();
    const floats = (await (await post(s, "e", "embeddings", { model: "x", input: ["p", "q"] })).json()) as EmbeddingList<number[]>;
    const b64 = (await (await post(s, "e", "embeddings", { model: "x", input: ["p", "q"], encoding_format: "base64" })).json()) as EmbeddingList<string>;
    expect(typeof b64.data[0]?.embedding).toBe("string");
    expect(b64.data.map((d) => decodeBase64(d.embedding))).toEqual(floats.data.map((d) => d.embedding));
  });

  it("honours dimensions", async () => {
    const json = (await (await post(sim(), "e", "embeddings", { model: "x", input: "hi", dimensions: 3 })).json()) as EmbeddingList<number[]>;
    expect(json.data[0]?.embedding).toHaveLength(3);
  });

  it("accepts token arrays and counts their length as tokens", async () => {
    const one = (await (await post(sim(), "e", "embeddings", { model: "x", input: [1, 2, 3] })).json()) as EmbeddingList<number[]>;
    expect(one.data).toHaveLength(1);
    expect(one.usage?.prompt_tokens).toBe(3);
    const many = (await (await post(sim(), "e", "embeddings", { model: "x", input: [[1, 2], [3]] })).json()) as EmbeddingList<number[]>;
    expect(many.data).toHaveLength(2);
    expect(many.usage?.prompt_tokens).toBe(3);
  });

  it("rejects a missing input with 400", async () => {
    const res = await post(sim(), "e", "embeddings", { model: "x" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe("input");
  });
});
