/**
 * One structured line per request, and what it feeds. Every request the router answers leaves
 * exactly one JSON line on the console (Workers Logs indexes its fields; `wrangler tail` and
 * `--search` filter on them), adds to this isolate's counters (`metrics.ts`, `GET /metrics`) and, at
 * the edge, writes one data point to the optional Analytics Engine dataset `REQUEST_ANALYTICS`.
 *
 * The line never holds a prompt, an answer, a key or a token: ids, names, counts, money, times.
 *
 * A proxied request's line is written when it is settled (a stream's after its last byte, so its
 * tokens and cost are in it); every other request's when its response is ready.
 */
import type { SettleRequest } from "../ledger/types";
import type { RequestMetrics } from "./metrics";

export interface RequestLine {
  type: "request";
  requestId: string;
  method: string;
  path: string;
  status: number;
  /** From arrival to the last byte of the answer (a stream's end), in ms. */
  latencyMs: number;
  tenant?: string;
  keyId?: string;
  endpoint?: string;
  scenario?: string;
  origin?: string | null;
  model?: string | null;
  stream?: boolean;
  outcome?: string;
  promptTokens?: number;
  cachedTokens?: number;
  completionTokens?: number;
  costMicros?: number;
  /** The same cost in USD, for people reading logs. */
  costUsd?: number;
  /** Whether the isolate's lease admitted it (no ledger call before its first byte). */
  leased?: boolean;
}

export interface LogSinks {
  metrics: RequestMetrics;
  analytics?: AnalyticsEngineDataset | undefined;
  write?: (line: string) => void;
}

/** A request's line, filled in as the request goes and written once. */
export class RequestLog {
  private written = false;
  /** A settlement will write the line (a proxied request once admitted). */
  private settles = false;
  private tenant: { tenant: string; keyId: string; leased?: boolean } | null = null;

  constructor(
    private readonly base: { requestId: string; method: string; path: string; arrivedAt: number },
    private readonly sinks: LogSinks,
  ) {}

  /** The request was admitted: its settlement writes the line, with the tenant and key that were charged. */
  admitted(tenant: string, keyId: string, leased: boolean): void {
    this.settles = true;
    this.tenant = { tenant, keyId, leased };
  }

  /** The caller's key checked out (a request that reads rather than spends: models, usage). */
  identified(tenant: string, keyId: string): void {
    this.tenant ??= { tenant, keyId };
  }

  /** Writes the line of a settled request. */
  settled(s: SettleRequest): void {
    this.write({
      status: s.status,
      latencyMs: s.latencyMs,
      endpoint: s.endpoint,
      scenario: s.scenario,
      origin: s.origin,
      model: s.model,
      stream: s.stream,
      outcome: s.outcome,
      promptTokens: s.promptTokens,
      cachedTokens: s.cachedTokens,
      completionTokens: s.completionTokens,
      costMicros: s.costMicros,
      costUsd: s.costMicros / 1e6,
    });
  }

  /** The response is ready: writes the line unless a settlement will. */
  responded(status: number, now: number): void {
    if (!this.settles) this.write({ status, latencyMs: Math.max(0, now - this.base.arrivedAt) });
  }

  private write(fields: Omit<RequestLine, "type" | "requestId" | "method" | "path">): void {
    if (this.written) return;
    this.written = true;
    const line: RequestLine = {
      type: "request",
      requestId: this.base.requestId,
      method: this.base.method,
      path: this.base.path,
      ...(this.tenant ?? {}),
      ...fields,
    };
    try {
      (this.sinks.write ?? console.log)(JSON.stringify(line));
      this.sinks.metrics.record(line);
      this.sinks.analytics?.writeDataPoint(dataPointOf(line));
    } catch {
      // Observability never fails a request.
    }
  }
}

/**
 * The Analytics Engine data point of a line. Query it with the SQL API, e.g.
 * `SELECT blob4 AS scenario, SUM(_sample_interval * double4) AS cost_micros FROM token_router GROUP BY scenario`.
 *
 * blobs: 1 request id, 2 tenant, 3 key id, 4 scenario, 5 origin, 6 outcome, 7 path, 8 endpoint;
 * doubles: 1 status, 2 latency ms, 3 prompt tokens, 4 cost µ$, 5 completion tokens, 6 cached tokens;
 * index: the tenant (sampling is per tenant).
 */
export function dataPointOf(line: RequestLine): AnalyticsEngineDataPoint {
  return {
    indexes: [line.tenant ?? ""],
    blobs: [line.requestId, line.tenant ?? "", line.keyId ?? "", line.scenario ?? "", line.origin ?? "", line.outcome ?? "", line.path, line.endpoint ?? ""],
    doubles: [line.status, line.latencyMs, line.promptTokens ?? 0, line.costMicros ?? 0, line.completionTokens ?? 0, line.cachedTokens ?? 0],
  };
}
