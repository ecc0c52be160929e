/**
 * The SSE relay on its own: its text searches agree with the plain ones they replace, and what a
 * client receives, and how the relay says the stream ended, do not depend on how the origin's bytes
 * were cut into chunks (the relay passes whole-event chunks as they came and re-encodes the rest).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PROVIDER_PROFILES } from "../../src/config/providers";
import { carriesText, dataOf, relaySse, type StreamOutcome } from "../../src/proxy/sse-relay";

/** The six-pattern search `carriesText` replaced. */
function carriesTextPlainly(data: string): boolean {
  for (const field of ['"content":"', '"content": "', '"arguments":"', '"arguments": "', '"text":"', '"text": "']) {
    for (let at = data.indexOf(field); at >= 0; at = data.indexOf(field, at + field.length)) {
      if (data.charCodeAt(at + field.length) !== 34) return true;
    }
  }
  return false;
}

/** Every line of the event, as `dataOf` reads it without its one-line shortcut. */
function dataOfPlainly(event: string): string | null {
  let data: string | null = null;
  for (const line of event.split("\n")) {
    if (!line.startsWith("data:")) continue;
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data === null ? value : `${data}\n${value}`;
  }
  return data;
}

/** Strings made of the fragments the searches look for, so that near misses are common. */
const fragments = fc.array(
  fc.constantFrom('"content":', '"arguments":', '"text":', '"usage":', " ", '"', '""', "{", "x", "data:", "data: ", "\n", ":", '"content":"'),
  { maxLength: 12 },
);

describe("the relay's text searches", () => {
  it("carriesText finds generated text exactly where the six-pattern search does", () => {
    fc.assert(fc.property(fragments, (parts) => carriesText(parts.join("")) === carriesTextPlainly(parts.join(""))), { numRuns: 2000 });
  });

  it("dataOf reads one-line events as it reads any other", () => {
    fc.assert(fc.property(fragments, (parts) => dataOf(parts.join("")) === dataOfPlainly(parts.join(""))), { numRuns: 2000 });
  });
});

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }], usage: null })}\n\n`;
const USAGE = `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } })}\n\n`;

/** An origin's stream: a role chunk, content (some with multi-byte text), maybe a finish, usage and [DONE]. */
const streams = fc
  .record({
    words: fc.array(fc.constantFrom("a", "héllo", "🙂", " ", "x y", ""), { maxLength: 6 }),
    finish: fc.boolean(),
    usage: fc.boolean(),
    done: fc.boolean(),
    comment: fc.boolean(),
    spaced: fc.boolean(),
  })
  .map(({ words, finish, usage, done, comment, spaced }) => {
    const events = [chunk({ role: "assistant", content: "" }), ...words.map((w) => chunk({ content: w }))];
    if (comment) events.splice(1, 0, ": processing\n\n");
    if (finish) events.push(chunk({}, "stop"));
    if (usage) events.push(USAGE);
    if (done) events.push("data: [DONE]\n\n");
    const text = events.join("");
    return spaced ? text.replaceAll('":', '": ') : text;
  });

/** Relays `bytes` cut at `cuts`; what the client read and how the relay said it ended. */
async function relay(bytes: Uint8Array, cuts: number[], clientWantsUsage: boolean): Promise<{ text: string; outcome: StreamOutcome }> {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    if (to > from) pieces.push(bytes.slice(from, to));
    from = Math.max(from, to);
  }
  const [first, ...rest] = pieces.length > 0 ? pieces : [new Uint8Array(0)];
  const origin = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const p of rest) controller.enqueue(p);
      controller.close();
    },
  });
  let outcome: StreamOutcome | undefined;
  const body = relaySse({
    first: first!,
    reader: origin.getReader(),
    clientWantsUsage,
    profile: PROVIDER_PROFILES.openai,
    scrub: (t) => t,
    timedOut: () => false,
    cancelled: () => false,
    heartbeatMs: 60_000,
    onEnd: (o) => (outcome = o),
  });
  const text = await new Response(body).text();
  return { text, outcome: outcome! };
}

describe("relaySse", () => {
  it("sends the same text, and ends the same way, however the origin's bytes were chunked", async () => {
    await fc.assert(
      fc.asyncProperty(streams, fc.array(fc.nat(4000), { maxLength: 8 }), fc.boolean(), async (stream, cuts, clientWantsUsage) => {
        const bytes = new TextEncoder().encode(stream);
        const whole = await relay(bytes, [], clientWantsUsage);
        const cut = await relay(bytes, cuts, clientWantsUsage);
        expect(cut).toEqual(whole);
      }),
      { numRuns: 150 },
    );
  });

  it("hides the usage chunk from a client that did not ask, keeps it for one that did, and counts what it learnt", async () => {
    const stream = chunk({ role: "assistant", content: "" }) + chunk({ content: "Hi" }) + chunk({ content: " there" }) + chunk({}, "stop") + USAGE + "data: [DONE]\n\n";
    const bytes = new TextEncoder().encode(stream);
    const hidden = await relay(bytes, [40, 200], false);
    expect(hidden.text).toBe(stream.replace(USAGE, ""));
    expect(hidden.outcome).toMatchObject({ end: "completed", contentEvents: 2, usage: { promptTokens: 7, completionTokens: 3 } });
    expect((await relay(bytes, [], true)).text).toBe(stream);
  });

  it("drops an event nested past 128 levels, after reading its usage: never re-serialized, never a relay failure", async () => {
    const deep = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
    const nestedUsage = `data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10},"x_nested":${deep}}\n\n`;
    const nestedError = `data: {"error":{"message":"no","x_nested":${deep}}}\n\n`;
    const head = chunk({ role: "assistant", content: "" }) + chunk({ content: "Hi" }) + chunk({}, "stop");
    for (const clientWantsUsage of [false, true]) {
      const { text, outcome } = await relay(new TextEncoder().encode(head + nestedUsage + "data: [DONE]\n\n"), [], clientWantsUsage);
      expect(text).toBe(head + "data: [DONE]\n\n");
      expect(outcome).toMatchObject({ end: "completed", contentEvents: 1, usage: { promptTokens: 7, completionTokens: 3 } });
    }
    // An origin's error event that deep is passed on as text (scrubbed as text), not walked.
    const { text } = await relay(new TextEncoder().encode(head + nestedError), [], false);
    expect(text.startsWith(head + nestedError)).toBe(true);
  });

  it("ends a stream that stopped before its finish with an error event, as broken", async () => {
    const stream = chunk({ role: "assistant", content: "" }) + chunk({ content: "Hi" });
    const { text, outcome } = await relay(new TextEncoder().encode(stream), [], false);
    expect(text.startsWith(stream)).toBe(true);
    expect(dataOf(text.slice(stream.length).trim())).toContain('"error"');
    expect(outcome).toMatchObject({ end: "broken", contentEvents: 1, usage: null });
  });
});
