/**
 * The request recorder: a bounded ring of what arrived at each origin, so a test can ask exactly
 * what the router sent (model rewrite, injected auth, stripped client credentials).
 */

/** One recorded request, as the origin received it. */
export interface SimRecord {
  origin: string;
  method: string;
  /** Path and query, e.g. `/alpha/v1/chat/completions`. */
  path: string;
  /** Every header as received, names lower-cased. */
  headers: Record<string, string>;
  /** The parsed JSON body, or null (no body, or not JSON). */
  body: unknown;
  /** Arrival time, ms since the epoch. */
  at: number;
}

/** A ring of the last `limit` records. */
export class RequestRecorder {
  private readonly ring: SimRecord[] = [];
  private next = 0;

  constructor(readonly limit: number) {}

  /** Keeps a record, dropping the oldest when full. */
  record(rec: SimRecord): void {
    if (this.limit === 0) return;
    if (this.ring.length < this.limit) this.ring.push(rec);
    else this.ring[this.next] = rec;
    this.next = (this.next + 1) % this.limit;
  }

  /** Forgets every record (`POST /_sim/reset`). */
  clear(): void {
    this.ring.length = 0;
    this.next = 0;
  }

  /** Records whose `x-request-id` header equals `requestId`, oldest first. */
  byRequestId(requestId: string): SimRecord[] {
    const ordered = this.ring.length < this.limit ? this.ring : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
    return ordered.filter((r) => r.headers["x-request-id"] === requestId);
  }
}
