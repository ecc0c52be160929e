/** Reading a request body under its limit: 413s that reach the client, 400s for unreadable bodies (issue #12, items 5 and 6). */
import { describe, expect, it } from "vitest";
import { RouterError } from "../../src/openai/errors";
import { DRAIN_FACTOR, readJsonBody } from "../../src/proxy/read-body";

const LIMIT = 100;

/** A body of `total` bytes in chunks of `chunk`, counting what was pulled from it. */
function countedBody(total: number, chunk = 10): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent >= total) return c.close();
      const n = Math.min(chunk, total - sent);
      sent += n;
      c.enqueue(new Uint8Array(n).fill(32));
    },
  });
  return { stream, pulled: () => sent };
}

function post(body: BodyInit, headers: Record<string, string> = {}): Request {
  return new Request("http://router.test/v1/chat/completions", { method: "POST", body, headers });
}

async function failure(promise: Promise<unknown>): Promise<string> {
  const e = await promise.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RouterError);
  return (e as RouterError).failure.kind;
}

describe("readJsonBody", () => {
  it("parses a body within the limit, declared or chunked", async () => {
    expect(await readJsonBody(post('{"a":1}'), LIMIT)).toEqual({ value: { a: 1 }, bytes: 7 });
    const chunked = new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(new TextEncoder().encode('{"b":[2]}')), c.close()) });
    expect(await readJsonBody(post(chunked), LIMIT)).toEqual({ value: { b: [2] }, bytes: 9 });
  });

  it("counts a body's bytes, not its characters, declared or chunked", async () => {
    const text = '{"a":"é→😀"}';
    const bytes = new TextEncoder().encode(text);
    expect(bytes.byteLength).toBe(17);
    expect(await readJsonBody(post(text, { "content-length": "17" }), LIMIT)).toEqual({ value: { a: "é→😀" }, bytes: 17 });
    const chunked = new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(bytes.slice(0, 7)), c.enqueue(bytes.slice(7)), c.close()) });
    expect(await readJsonBody(post(chunked), LIMIT)).toEqual({ value: { a: "é→😀" }, bytes: 17 });
    // A declared length shorter than the body (a Request built in JavaScript): the bytes are counted.
    expect(await readJsonBody(post(text, { "content-length": "3" }), LIMIT)).toEqual({ value: { a: "é→😀" }, bytes: 17 });
    // A type that does not look like text (curl's -d) is read as bytes: the same answer.
    expect(await readJsonBody(post(text, { "content-length": "17", "content-type": "application/x-www-form-urlencoded" }), LIMIT)).toEqual({ value: { a: "é→😀" }, bytes: 17 });
  });

  it("reads an oversized upload to its end before the 413, so the client is still listening for it", async () => {
    const body = countedBody(LIMIT * 3);
    expect(await failure(readJsonBody(post(body.stream, { "content-length": String(LIMIT * 3) }), LIMIT))).toBe("body_too_large");
    expect(body.pulled()).toBe(LIMIT * 3);
    const chunked = countedBody(LIMIT * 3);
    expect(await failure(readJsonBody(post(chunked.stream), LIMIT))).toBe("body_too_large");
    expect(chunked.pulled()).toBe(LIMIT * 3);
  });

  it("stops discarding at its bound: nobody's upload is worth unbounded reading", async () => {
    const body = countedBody(LIMIT * DRAIN_FACTOR * 10);
    expect(await failure(readJsonBody(post(body.stream), LIMIT))).toBe("body_too_large");
    // The bound, give or take the chunk being read and the stream's one chunk of read-ahead.
    expect(body.pulled()).toBeGreaterThanOrEqual(LIMIT * DRAIN_FACTOR);
    expect(body.pulled()).toBeLessThanOrEqual(LIMIT * DRAIN_FACTOR + 20);
  });

  it("answers 400, not 500, for a body that cannot be read (malformed framing, a cut connection)", async () => {
    /** A body that sends its first bytes, then breaks. */
    const breaking = (error: string) => {
      let sent = false;
      return new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent) return c.error(new TypeError(error));
          sent = true;
          c.enqueue(new TextEncoder().encode('{"model":'));
        },
      });
    };
    expect(await failure(readJsonBody(post(breaking("malformed chunk")), LIMIT))).toBe("body_unreadable");
    expect(await failure(readJsonBody(post(breaking("connection reset"), { "content-length": "40" }), LIMIT))).toBe("body_unreadable");
    expect(await failure(readJsonBody(post("not json"), LIMIT))).toBe("invalid_json");
  });
});
