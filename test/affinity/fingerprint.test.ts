import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BLOCK_BYTES, fingerprint, MAX_BLOCKS, renderEach, renderJoined, type FingerprintInput } from "../../src/affinity/fingerprint";

/** `n` bytes of deterministic ASCII text. */
function text(n: number, seed = "lorem"): string {
  return `${seed} `.repeat(Math.ceil(n / (seed.length + 1))).slice(0, n);
}

const system = { role: "system", content: text(2000, "system") };
const tools = [{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: { q: { type: "string" } } } } }];

describe("prefix fingerprints", () => {
  it("are the same for the same request, and renderable from any message shape", () => {
    const request = { model: "chat", tools, messages: [system, { role: "user", content: [{ type: "text", text: text(900) }] }, { role: "assistant", content: null, tool_calls: [{ id: "c1" }] }, { role: "tool", tool_call_id: "c1", content: "42" }] };
    expect(fingerprint(request)).toEqual(fingerprint(structuredClone(request)));
    expect(fingerprint(request).blocks.length).toBeGreaterThan(0);
  });

  it("keep every earlier block when a conversation grows, and cut blocks from the rendering", () => {
    const turn1 = [system, { role: "user", content: text(700, "question") }];
    const turn2 = [...turn1, { role: "assistant", content: text(500, "answer") }, { role: "user", content: text(300, "again") }];
    const a = fingerprint({ model: "chat", messages: turn1 });
    const b = fingerprint({ model: "chat", messages: turn2 });
    expect(b.blocks.slice(0, a.blocks.length)).toEqual(a.blocks);
    expect(b.blocks.length).toBeGreaterThan(a.blocks.length);
    // "chat" + "<|system|>" + 2000 + "<|user|>" + 700 = 2722 bytes: 10 full blocks of 256.
    expect(a.blocks).toHaveLength(Math.floor(2722 / BLOCK_BYTES));
    expect(a.promptTokens).toBe(Math.ceil(2722 / 4));
  });

  it("change every later block when an earlier message changes, and no block before it", () => {
    const base = [system, { role: "user", content: text(3000, "doc") }, { role: "assistant", content: "ok" }, { role: "user", content: text(800) }];
    const edited = structuredClone(base);
    edited[1]!.content = `${text(1500, "doc")}X${text(1499, "doc")}`; // one byte changed at offset 1500 of message 1
    const a = fingerprint({ model: "chat", messages: base });
    const b = fingerprint({ model: "chat", messages: edited });
    expect(a.blocks).toHaveLength(b.blocks.length);
    const changedAt = Math.floor(("chat<|system|>".length + 2000 + "<|user|>".length + 1500) / BLOCK_BYTES);
    expect(b.blocks.slice(0, changedAt)).toEqual(a.blocks.slice(0, changedAt));
    for (let i = changedAt; i < a.blocks.length; i++) expect(b.blocks[i]).not.toBe(a.blocks[i]);
  });

  it("differ from the first block on for another model or other tools", () => {
    const messages = [system, { role: "user", content: "hi" }];
    const base = fingerprint({ model: "chat", tools, messages });
    const otherModel = fingerprint({ model: "chat2", tools, messages });
    const otherTools = fingerprint({ model: "chat", tools: [{ ...tools[0], function: { name: "search" } }], messages });
    expect(otherModel.blocks[0]).not.toBe(base.blocks[0]);
    expect(otherTools.blocks[0]).not.toBe(base.blocks[0]);
    expect(otherModel.anchor).not.toBe(base.anchor);
  });

  it("anchor requests on their preamble: same system prompt, same anchor; the first message when none", () => {
    const a = fingerprint({ model: "chat", messages: [system, { role: "user", content: "one" }] });
    const b = fingerprint({ model: "chat", messages: [system, { role: "user", content: text(5000, "two") }] });
    const c = fingerprint({ model: "chat", messages: [{ role: "system", content: "short" }, { role: "user", content: "one" }] });
    const d = fingerprint({ model: "chat", messages: [{ role: "system", content: "short" }, { role: "user", content: "two" }] });
    const e = fingerprint({ model: "chat", messages: [{ role: "user", content: "one" }] });
    const f = fingerprint({ model: "chat", messages: [{ role: "user", content: "two" }] });
    expect(a.anchor).toBe(b.anchor);
    expect(c.anchor).toBe(d.anchor); // a preamble shorter than a block is hashed whole
    expect(e.anchor).not.toBe(f.anchor);
    expect(Number.isSafeInteger(a.anchor) && Number.isSafeInteger(c.anchor)).toBe(true);
  });

  it("anchor a conversation on its preamble and first message: every turn shares it, other conversations do not", () => {
    const first = { role: "user", content: text(3000, "document") };
    const turn1 = fingerprint({ model: "chat", messages: [system, first] });
    const turn3 = fingerprint({ model: "chat", messages: [system, first, { role: "assistant", content: "a" }, { role: "user", content: "b" }] });
    const other = fingerprint({ model: "chat", messages: [system, { role: "user", content: text(3000, "another") }] });
    expect(turn3.conversation).toBe(turn1.conversation);
    expect(other.conversation).not.toBe(turn1.conversation);
    expect(other.anchor).toBe(turn1.anchor); // same system prompt
    // Short first messages that end in the system prompt's last block still name different conversations.
    const hello = fingerprint({ model: "chat", messages: [system, { role: "user", content: "Hello" }] });
    const hi = fingerprint({ model: "chat", messages: [system, { role: "user", content: "Hi!!!" }] });
    expect(hello.conversation).not.toBe(hi.conversation);
    expect(hello.conversation).not.toBe(hello.anchor);
    expect(hello.anchor).toBe(hi.anchor);
  });

  it("checkpoint each message's last full block, every 16th block and the last", () => {
    const fp = fingerprint({ model: "chat", messages: [system, { role: "user", content: text(9000) }] });
    const systemEnd = Math.floor(("chat<|system|>".length + 2000) / BLOCK_BYTES) - 1;
    expect(fp.checkpoints).toContain(systemEnd);
    expect(fp.checkpoints).toContain(15);
    expect(fp.checkpoints).toContain(31);
    expect(fp.checkpoints.at(-1)).toBe(fp.blocks.length - 1);
    expect(fp.checkpoints).toEqual([...new Set(fp.checkpoints)].sort((x, y) => x - y));
  });

  it("cap the chain at MAX_BLOCKS but count every token", () => {
    const huge = fingerprint({ model: "chat", messages: [{ role: "user", content: text(MAX_BLOCKS * BLOCK_BYTES * 2) }] });
    expect(huge.blocks).toHaveLength(MAX_BLOCKS);
    expect(huge.promptTokens).toBe(Math.ceil(("chat<|user|>".length + MAX_BLOCKS * BLOCK_BYTES * 2) / 4));
    const multibyte = fingerprint({ model: "m", messages: [{ role: "user", content: "é".repeat(1000) }] });
    expect(multibyte.promptTokens).toBe(Math.ceil(("m<|user|>".length + 2000) / 4));
  });

  it("render the same at once as piece by piece, whenever the one-string rendering answers", () => {
    const same = (r: FingerprintInput) => {
      const joined = renderJoined(r);
      const each = renderEach(r);
      if (joined === null) return false;
      expect(joined.length).toBe(each.length);
      expect(joined.total).toBe(each.total);
      expect(joined.ends).toEqual(each.ends);
      expect(joined.bytes.subarray(0, joined.length)).toEqual(each.bytes.subarray(0, each.length));
      return true;
    };
    const content = fc.oneof(fc.string({ maxLength: 600 }), fc.string({ unit: "grapheme", maxLength: 200 }), fc.constant(null), fc.array(fc.record({ type: fc.constant("text"), text: fc.string({ maxLength: 200 }) }), { maxLength: 2 }));
    const message = fc.record({ role: fc.constantFrom("system", "developer", "user", "assistant"), content }, { requiredKeys: ["role"] });
    fc.assert(fc.property(fc.record({ model: fc.string({ maxLength: 5 }), messages: fc.array(message, { maxLength: 6 }) }), (r) => void same(r)), { numRuns: 2000 });
    // ASCII answers at once, to the cap and past it; a multi-byte character is left to the pieces.
    const cap = MAX_BLOCKS * BLOCK_BYTES;
    expect(same({ model: "m", messages: [{ role: "user", content: text(3000) }] })).toBe(true);
    expect(same({ model: "m", messages: [{ role: "system", content: text(cap) }, { role: "user", content: "past the cap" }] })).toBe(true);
    expect(same({ model: "m", messages: [{ role: "system", content: text(cap) }, { role: "user", content: "past the cap é" }] })).toBe(false);
    // Lone surrogates at two pieces' ends, past the cap: one character joined, two apart.
    expect(same({ model: "m", messages: [{ role: "system", content: text(cap) }, { role: "user", name: "n\uD83D", content: "\uDE00 hi" }] })).toBe(false);
    // Past the cap, any text (lone surrogates included): when the one string answers, it answers alike.
    const past = fc.record({ role: fc.constant("user"), name: fc.string({ unit: "binary", maxLength: 4 }), content: fc.string({ unit: "binary", maxLength: 8 }) });
    fc.assert(fc.property(fc.array(past, { maxLength: 4 }), (tail) => void same({ model: "m", messages: [{ role: "system", content: text(cap) }, ...tail] })), { numRuns: 25 });
    expect(same({ model: "m", messages: [{ role: "user", content: "é" }] })).toBe(false);
    expect(same({ model: "m", messages: [{ role: "system", content: `${text(cap - 12)}é` }, { role: "user", content: "after" }] })).toBe(false);
  });

  it("name prefixes as they always have (the index keeps these names)", async () => {
    const t = (n: number, seed: string) => `${seed} `.repeat(Math.ceil(n / (seed.length + 1))).slice(0, n);
    const requests: FingerprintInput[] = [
      { model: "chat-default", messages: [{ role: "system", content: "You are a concise assistant." }, { role: "user", content: "In one sentence: why route LLM traffic at the edge?" }] },
      { model: "m", tools: [{ type: "function", function: { name: "f" } }], messages: [{ role: "system", content: t(700, "sys") }, { role: "user", content: [{ type: "text", text: "héllo wörld ✓ 日本語" }] }, { role: "assistant", content: null, tool_calls: [{ id: "c1" }] }, { role: "tool", tool_call_id: "c1", content: t(300, "x") }] },
      { model: "m", messages: [{ role: "user", content: t(1000, "a") + "é" + t(200, "b") }] },
      { model: "m", messages: [{ role: "system", content: t(131000, "long") }, { role: "user", content: t(5000, "tail") }] },
      { model: "m", messages: [{ role: "system", content: t(131071 - 1 - 10, "edge") + "é" }, { role: "user", content: "after the cap" }] },
      { model: "m", messages: [] },
      { model: "m", messages: [{ role: "user", content: "x".repeat(511) }, { role: "user", content: "y".repeat(513) }] },
    ];
    expect(fingerprint(requests[0]!)).toMatchObject({ anchor: 2735622372932422, conversation: 8056444949512641, promptTokens: 28, preambleTokens: 13 });
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(requests.map(fingerprint))));
    expect([...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("")).toBe("2209ab281448afc4758c44ff16ef6c41cb18dc9c5d8c48196cd128a092d34604");
  });
});

