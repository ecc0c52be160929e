/**
 * The prompt-token upper bound: exact values for representative chat and embeddings bodies, the
 * UTF-8 scan against TextEncoder, and a seeded check that the bound is never below what the
 * simulated origin reports (ceil(bytes / 4) of its rendering, src/sim/tokens.ts).
 */
import { describe, expect, it } from "vitest";
import { utf8ByteLength } from "../../src/lib/bytes";
import { estimatePromptTokensUpperBound } from "../../src/pricing/estimate";
import { mulberry32 } from "../../src/sim/hash";
import { countTokens, renderChatPrompt, type RenderableMessage } from "../../src/sim/tokens";

const WEATHER_TOOL = [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }]; // 86 bytes of JSON
const VISION = {
  model: "gpt-4o",
  messages: [
    { role: "system", content: "You are terse." }, // 14 bytes
    {
      role: "user",
      content: [
        { type: "text", text: "What is in this image?" }, // 22 bytes
        { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB" } },
      ],
    },
  ],
};

describe("estimatePromptTokensUpperBound", () => {
  it.each<[string, unknown, number]>([
    ["one user message: 16 + 8 + 5", { model: "m", messages: [{ role: "user", content: "hello" }] }, 29],
    ["a system prompt and an image part: 16 + (8 + 14) + (8 + 22 + 1600)", VISION, 1668],
    ["tools as JSON: 16 + (8 + 2) + 86", { model: "m", messages: [{ role: "user", content: "hi" }], tools: WEATHER_TOOL }, 112],
    [
      "a tool-call round trip: 16 + (8 + 17) + (8 + 104 of tool_calls JSON) + (8 + 8 of tool_call_id JSON + 5)",
      {
        model: "m",
        messages: [
          { role: "user", content: "Weather in Paris?" },
          { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
          { role: "tool", tool_call_id: "call_1", content: "18°C" },
        ],
      },
      174,
    ],
    ["a name and multi-byte text: 16 + 8 + 7 + 11", { model: "m", messages: [{ role: "user", name: "alice", content: "ça va 🙂" }] }, 42],
    [
      "audio and file parts: 16 + 8 + 1000 + 1000 + 9",
      {
        model: "m",
        messages: [
          {
            role: "user",
            content: [
              { type: "input_audio", input_audio: { data: "UklGRiQAAABXQVZFZm10IBAAAAABAAEA", format: "wav" } },
              { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0xLjQK", filename: "a.pdf" } },
              { type: "text", text: "Summarise" },
            ],
          },
        ],
      },
      2033,
    ],
    ["response_format as JSON: 16 + 8 + 2 + 22", { model: "m", messages: [{ role: "user", content: "hi" }], response_format: { type: "json_object" } }, 48],
    ["an unknown part as JSON: 16 + 8 + 44", { model: "m", messages: [{ role: "user", content: [{ type: "video_url", video_url: { url: "x" } }] }] }, 68],
    ["an empty message: 16 + 8", { model: "m", messages: [{ role: "assistant", content: null }] }, 24],
    ["embeddings, one string: 4 + 5", { model: "e", input: "hello" }, 9],
    ["embeddings, strings: (4 + 2) + (4 + 3)", { model: "e", input: ["hi", "ça"] }, 13],
    ["embeddings, one token array", { model: "e", input: [1, 2, 3] }, 3],
    ["embeddings, token arrays", { model: "e", input: [[1, 2, 3], [4]] }, 4],
    ["a body that is not an object", "hello", 0],
    ["neither messages nor input", { model: "m" }, 0],
  ])("%s", (_name, body, expected) => {
    expect(estimatePromptTokensUpperBound(body)).toBe(expected);
  });

  it("takes other media assumptions per call", () => {
    expect(estimatePromptTokensUpperBound(VISION, { image: 3000 })).toBe(3068);
    expect(estimatePromptTokensUpperBound(VISION, { perMessage: 4, perRequest: 3 })).toBe(3 + 4 + 14 + 4 + 22 + 1600);
  });

  it("is never below the simulator's count (2,000 seeded random bodies)", () => {
    const random = mulberry32(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const alphabet = ["a", "Z", " ", ".", "\n", "\t", '"', "\\", "é", "ß", "中", "語", "🙂", "👍🏽", "\ud800", "\udc00", "\u0001"];
    const text = () => Array.from({ length: Math.floor(random() ** 3 * 400) }, () => pick(alphabet)).join("");
    const models = ["m", "gpt-4o-mini", "deepseek-chat", "meta-llama/Llama-3.1-8B-Instruct", "qwen2.5-coder-32b-instruct-awq"];
    const roles = ["system", "developer", "user", "assistant", "tool"];
    for (let i = 0; i < 2000; i++) {
      if (i % 4 === 3) {
        const input = Array.from({ length: 1 + Math.floor(random() * 5) }, text);
        const simulated = input.reduce((sum, s) => sum + countTokens(s), 0);
        expect(estimatePromptTokensUpperBound({ model: pick(models), input })).toBeGreaterThanOrEqual(simulated);
        continue;
      }
      const messages: RenderableMessage[] = Array.from({ length: 1 + Math.floor(random() * 6) }, () => ({
        role: pick(roles),
        content:
          random() < 0.6
            ? text()
            : Array.from({ length: 1 + Math.floor(random() * 3) }, () =>
                random() < 0.8 ? { type: "text", text: text() } : { type: "image_url", image_url: { url: "data:," } },
              ),
      }));
      const body = { model: pick(models), messages, ...(random() < 0.3 ? { tools: [{ type: "function", function: { name: text() } }] } : {}) };
      const simulated = countTokens(renderChatPrompt(body));
      expect(estimatePromptTokensUpperBound(body), JSON.stringify(body)).toBeGreaterThanOrEqual(simulated);
    }
  });
});

describe("utf8ByteLength", () => {
  it.each([
    ["", 0],
    ["hello", 5],
    ["é", 2],
    ["中", 3],
    ["🙂", 4],
    ["héllo 🙂", 11],
    ["\ud800", 3], // a lone surrogate is encoded as U+FFFD
    ["\ud800a", 4],
    ["\udc00\ud800", 6],
  ])("%j is %i bytes", (s, bytes) => {
    expect(utf8ByteLength(s)).toBe(bytes);
  });

  it("agrees with TextEncoder (2,000 seeded strings, surrogates included)", () => {
    const random = mulberry32(1);
    const encoder = new TextEncoder();
    const unit = () => {
      const r = random();
      if (r < 0.4) return Math.floor(random() * 0x80);
      if (r < 0.6) return 0x80 + Math.floor(random() * 0x780);
      if (r < 0.8) return 0x800 + Math.floor(random() * 0xf800); // includes lone surrogates
      return -1; // a well-formed pair
    };
    for (let i = 0; i < 2000; i++) {
      let s = "";
      for (let n = Math.floor(random() * 40); n > 0; n--) {
        const u = unit();
        s += u < 0 ? String.fromCodePoint(0x10000 + Math.floor(random() * 0xfffff)) : String.fromCharCode(u);
      }
      expect(utf8ByteLength(s), JSON.stringify(s)).toBe(encoder.encode(s).byteLength);
    }
  });
});
