/**
 * Request ids: `req_` and 32 hex digits, the first 12 the arrival's millisecond and the other 20
 * random (80 bits: ids made in one millisecond, in any number of isolates, do not meet).
 *
 * Time first, as in a UUIDv7: the ledger's usage table is keyed by request id, and ids that grow
 * with time are appended at the end of its key index instead of landing on a random page of it,
 * so a commit of a report's rows writes a few pages, not one per row. The random bits come from a
 * pool filled for 256 ids at a time: one call into the runtime's random source instead of one per
 * request. A client never chooses an id (it keys usage records), and cannot guess the next one.
 */
const IDS_PER_FILL = 256;
const RANDOM_BYTES = 10;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Made at the first id: workerd refuses random values in the global scope. */
let pool: Uint8Array | null = null;
let used = IDS_PER_FILL;

/** An id as `newRequestId` makes them: its first 12 hex digits are the arrival's millisecond. */
const ID_SHAPE = /^req_([0-9a-f]{12})[0-9a-f]{20}$/;

/** The arrival (Unix milliseconds) an id of this router carries, or null for any other string. */
export function requestIdTime(id: string): number | null {
  const match = ID_SHAPE.exec(id);
  return match ? parseInt(match[1]!, 16) : null;
}

/** A new request id for a request that arrived at `nowMs` (Unix milliseconds). */
export function newRequestId(nowMs: number): string {
  if (used === IDS_PER_FILL) {
    pool ??= new Uint8Array(IDS_PER_FILL * RANDOM_BYTES);
    crypto.getRandomValues(pool);
    used = 0;
  }
  // 12 hex digits of milliseconds last until the year 10889.
  let id = `req_${Math.floor(nowMs).toString(16).padStart(12, "0")}`;
  const from = used++ * RANDOM_BYTES;
  for (let i = from; i < from + RANDOM_BYTES; i++) id += HEX[pool![i]!];
  return id;
}
