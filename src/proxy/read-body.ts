/**
 * Reading a request body under a size limit, without trusting `content-length` alone
 * (a chunked upload has none).
 *
 * A body over the limit is read to its end and discarded, up to {@link DRAIN_FACTOR} times the
 * limit, before the 413 goes out. Answering while the client is still sending makes the runtime
 * close the connection under it: the official OpenAI SDK then saw a connection reset instead of
 * the 413 (`APIConnectionError`), and retried the whole upload three times (issue #12, item 5).
 * Past the bound the answer goes out anyway: nobody's upload is worth unbounded reading.
 *
 * A body that cannot be read at all (malformed chunked framing, a connection cut mid-body) is the
 * client's fault: a 400, not a 500. So is a JSON body nested deeper than {@link MAX_JSON_DEPTH}
 * levels: what the router does with a body recurses over it (`JSON.stringify` overflows the stack
 * some thousands of levels down), so it never gets that far.
 */
import { concatBytes, utf8ByteLength } from "../lib/bytes";
import { MAX_JSON_DEPTH, tooDeepAt } from "../lib/json-depth";
import { RouterError } from "../openai/errors";

/** How much of an oversized body is read and discarded before answering 413, as a multiple of the limit. */
export const DRAIN_FACTOR = 8;

/** The body as parsed JSON; throws 413 past `limit` bytes, 400 when it is not JSON or cannot be read. */
export async function readJsonBody(request: Request, limit: number): Promise<{ value: unknown; bytes: number }> {
  const { headers } = request;
  const declared = declaredLength(headers);
  if (declared !== null && declared <= limit && readsAsText(headers.get("content-type"))) {
    // The usual request: a declared length within the limit, which the runtime enforces. One
    // native read that decodes too (reading bytes, then decoding them, is two calls into it).
    let text: string;
    try {
      text = await request.text();
    } catch {
      throw new RouterError({ kind: "body_unreadable" });
    }
    // A string never has more UTF-16 units than its UTF-8 bytes: more means the header lied (a
    // Request built in JavaScript, which nothing checks), and the bytes are counted instead.
    return { value: parseText(text), bytes: text.length > declared ? utf8ByteLength(text) : declared };
  }
  const bytes = await readBodyBytes(request, limit);
  if (bytes === null) throw new RouterError({ kind: "invalid_json" });
  return { value: parseText(decoder.decode(bytes)), bytes: bytes.byteLength };
}

/**
 * Whether the runtime reads a body of this type as text without a warning in the Worker's log: it
 * warns about `.text()` on a body whose type does not look like text (a form, say: curl's `-d`
 * without a `content-type` of JSON). Those bodies are read as bytes and decoded, as before.
 */
function readsAsText(contentType: string | null): boolean {
  if (contentType === null) return true;
  const type = contentType.toLowerCase();
  return type.includes("json") || type.startsWith("text/");
}

/** The request's `content-length`, when it declares a whole number of bytes. */
function declaredLength(headers: Headers): number | null {
  const declared = Number(headers.get("content-length") ?? NaN);
  return Number.isInteger(declared) && declared >= 0 ? declared : null;
}

/** The body's bytes (null when there is none); throws 413 past `limit` bytes, 400 when it cannot be read. */
export async function readBodyBytes(request: Request, limit: number): Promise<Uint8Array | null> {
  const declared = declaredLength(request.headers);
  if (declared !== null && declared > limit) {
    await drain(request.body, limit * DRAIN_FACTOR);
    throw new RouterError({ kind: "body_too_large", limit });
  }
  if (!request.body) return null;
  try {
    // With a declared length within the limit, one native read; the runtime enforces the length.
    if (declared !== null) return new Uint8Array(await request.arrayBuffer());
    const reader = request.body.getReader();
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      if (bytes > limit) {
        await drainReader(reader, limit * DRAIN_FACTOR - bytes);
        throw new RouterError({ kind: "body_too_large", limit });
      }
      chunks.push(value);
    }
    return concatBytes(chunks);
  } catch (e) {
    if (e instanceof RouterError) throw e;
    throw new RouterError({ kind: "body_unreadable" });
  }
}

/** Reads and discards a body until its end or `bound` bytes; never throws. */
async function drain(body: ReadableStream<Uint8Array> | null, bound: number): Promise<void> {
  if (body) await drainReader(body.getReader(), bound);
}

async function drainReader(reader: ReadableStreamDefaultReader<Uint8Array>, bound: number): Promise<void> {
  let left = bound;
  try {
    while (left > 0) {
      const { done, value } = await reader.read();
      if (done) return;
      left -= value.byteLength;
    }
    await reader.cancel();
  } catch {
    // A body that breaks while being discarded has nothing more to give: answer now.
  }
}

/** Whole bodies only (no `stream` option), so one decoder serves every request. */
const decoder = new TextDecoder();

/** The body's JSON; a 400 when it is not JSON, or nests deeper than anything after this may recurse over (lib/json-depth.ts). */
function parseText(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RouterError({ kind: "invalid_json" });
  }
  const param = tooDeepAt(value, MAX_JSON_DEPTH);
  if (param !== undefined) throw new RouterError({ kind: "json_too_deep", limit: MAX_JSON_DEPTH, param });
  return value;
}
