/**
 * Reading a request body under a size limit, without trusting `content-length` alone
 * (a chunked upload has none).
 */
import { concatBytes } from "../lib/bytes";
import { RouterError } from "../openai/errors";

/** The body as text; throws 413 past `limit` bytes and 400 when it is not JSON. */
export async function readJsonBody(request: Request, limit: number): Promise<{ value: unknown; bytes: number }> {
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > limit) throw new RouterError({ kind: "body_too_large", limit });
  if (!request.body) throw new RouterError({ kind: "invalid_json" });
  // With a declared length within the limit, one native read; the runtime enforces the length.
  if (Number.isInteger(declared) && declared >= 0) return parse(new Uint8Array(await request.arrayBuffer()));
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > limit) {
      await reader.cancel();
      throw new RouterError({ kind: "body_too_large", limit });
    }
    chunks.push(value);
  }
  return parse(concatBytes(chunks));
}

function parse(bytes: Uint8Array): { value: unknown; bytes: number } {
  try {
    return { value: JSON.parse(new TextDecoder().decode(bytes)), bytes: bytes.byteLength };
  } catch {
    throw new RouterError({ kind: "invalid_json" });
  }
}
