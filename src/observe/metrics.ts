/**
 * The router's metrics in Prometheus' text format (`GET /metrics`), from two sources:
 *
 * - **this isolate** (`RequestMetrics`, fed by every request's log line): requests, tokens, cost and
 *   errors by endpoint, scenario and origin, and request-duration histograms. Under `npm run serve`
 *   (one workerd process, one isolate) that is the whole server. At the edge a scrape reaches one
 *   isolate of many, and its counters restart with it: use the Analytics Engine dataset there
 *   (`request-log.ts`), which sees every request.
 * - **the origins' monitors** (one Durable Object per origin, fed by every isolate's health
 *   reports, so they are global): circuit states, TTFT and latency EWMAs and their variation, error
 *   rates, requests in flight, and prefix-cache hit rates, predicted and reported.
 */
import type { OriginSnapshot } from "../health/types";
import type { RequestLine } from "./request-log";

/** Request durations (seconds): from a cached answer to a long generation. */
export const DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300] as const;

type Labels = Record<string, string>;

interface Histogram {
  labels: Labels;
  counts: number[];
  sum: number;
  count: number;
}

/** Series kept per metric at most: labels come from config (scenarios, origins) and status codes, so this is a guard, not a limit in use. */
const MAX_SERIES = 5_000;

/** What the route of a request was, for requests no scenario served. */
export function endpointOf(path: string): string {
  if (path === "/v1/chat/completions") return "chat";
  if (path === "/v1/completions") return "completions";
  if (path === "/v1/embeddings") return "embeddings";
  if (path === "/v1/responses" || path.startsWith("/v1/responses/")) return "responses";
  if (path.startsWith("/v1/models")) return "models";
  if (path.startsWith("/v1/")) return "v1";
  if (path.startsWith("/admin/")) return "admin";
  return "other";
}

class Counter {
  readonly series = new Map<string, { labels: Labels; value: number }>();
  /**
   * Adds to the series of `labels`, found by `key` (which names that label set and no other);
   * `labels` is called only when the series is new.
   */
  add(key: string, value: number, labels: () => Labels): void {
    const entry = this.series.get(key);
    if (entry) entry.value += value;
    else if (this.series.size < MAX_SERIES) this.series.set(key, { labels: labels(), value });
  }
}

/** This isolate's request counters, since it started. */
export class RequestMetrics {
  readonly requests = new Counter();
  readonly errors = new Counter();
  readonly tokens = new Counter();
  readonly costMicros = new Counter();
  readonly durations = new Map<string, Histogram>();

  /**
   * Counts a request's line. Every series' key extends the JSON of its endpoint, scenario and
   * origin, made once per line: a request touches up to seven series, and the label objects are
   * made only for a series' first request.
   */
  record(line: RequestLine): void {
    const where = { endpoint: line.endpoint ?? endpointOf(line.path), scenario: line.scenario ?? "", origin: line.origin ?? "" };
    const key = JSON.stringify(where);
    const status = String(line.status);
    this.requests.add(`${key}${status}`, 1, () => ({ ...where, status }));
    if (line.status >= 400) this.errors.add(`${key}${status}`, 1, () => ({ ...where, status }));
    if (line.scenario !== undefined) {
      const at = () => ({ scenario: where.scenario, origin: where.origin });
      if (line.promptTokens) this.tokens.add(`${key}prompt`, line.promptTokens, () => ({ ...at(), kind: "prompt" }));
      if (line.cachedTokens) this.tokens.add(`${key}cached`, line.cachedTokens, () => ({ ...at(), kind: "cached" }));
      if (line.completionTokens) this.tokens.add(`${key}completion`, line.completionTokens, () => ({ ...at(), kind: "completion" }));
      if (line.costMicros) this.costMicros.add(key, line.costMicros, at);
    }
    let h = this.durations.get(key);
    if (!h) {
      if (this.durations.size >= MAX_SERIES) return;
      h = { labels: where, counts: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.durations.set(key, h);
    }
    const seconds = line.latencyMs / 1000;
    for (let i = 0; i < DURATION_BUCKETS.length; i++) if (seconds <= DURATION_BUCKETS[i]!) h.counts[i]!++;
    h.sum += seconds;
    h.count++;
  }
}

/** What `/metrics` renders besides the request counters. */
export interface MetricsSources {
  requests: RequestMetrics;
  isolate: { id: string; configVersion: number; configStoreCalls: number; ledgerCalls: Map<string, number> };
  origins: OriginSnapshot[];
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

/** Prometheus text exposition (format 0.0.4). */
class Exposition {
  private readonly lines: string[] = [];
  family(name: string, help: string, type: "counter" | "gauge" | "histogram"): this {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }
  sample(name: string, labels: Labels, value: number): this {
    this.lines.push(`${name}${labelText(labels)} ${formatNumber(value)}`);
    return this;
  }
  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

const CIRCUIT_STATES = ["closed", "open", "half_open"] as const;

/**
 * @example
 * renderMetrics({ requests, isolate, origins }) // "# HELP token_router_requests_total ...\n..."
 */
export function renderMetrics(sources: MetricsSources): string {
  const out = new Exposition();
  const { requests } = sources;
  const counter = (name: string, help: string, c: Counter, scale = 1) => {
    out.family(name, help, "counter");
    for (const { labels, value } of c.series.values()) out.sample(name, labels, value * scale);
  };

  counter("token_router_requests_total", "Requests answered by this isolate, by endpoint, scenario, origin and HTTP status.", requests.requests);
  counter("token_router_errors_total", "Requests answered with a 4xx or 5xx by this isolate.", requests.errors);
  counter("token_router_tokens_total", "Tokens of the requests this isolate served (kind: prompt, cached, completion).", requests.tokens);
  counter("token_router_cost_usd_total", "What this isolate's requests cost, in USD (settled from the origins' usage and prices).", requests.costMicros, 1e-6);

  out.family("token_router_request_duration_seconds", "From arrival to the answer's last byte, per request of this isolate.", "histogram");
  for (const h of requests.durations.values()) {
    DURATION_BUCKETS.forEach((le, i) => out.sample("token_router_request_duration_seconds_bucket", { ...h.labels, le: String(le) }, h.counts[i]!));
    out.sample("token_router_request_duration_seconds_bucket", { ...h.labels, le: "+Inf" }, h.count);
    out.sample("token_router_request_duration_seconds_sum", h.labels, h.sum);
    out.sample("token_router_request_duration_seconds_count", h.labels, h.count);
  }

  const { isolate } = sources;
  out.family("token_router_isolate_info", "The isolate that answered this scrape, and the config version it runs.", "gauge");
  out.sample("token_router_isolate_info", { isolate: isolate.id, config_version: String(isolate.configVersion) }, 1);
  out.family("token_router_ledger_calls_total", "Calls from this isolate's request path to tenants' ledgers, by kind (leases keep most requests at none).", "counter");
  for (const [kind, n] of isolate.ledgerCalls) out.sample("token_router_ledger_calls_total", { kind }, n);
  out.family("token_router_config_store_calls_total", "This isolate's calls to the config store (a check every few seconds, never per request).", "counter");
  out.sample("token_router_config_store_calls_total", {}, isolate.configStoreCalls);

  out.family("token_router_origin_circuit_state", "Each origin's circuit breaker: 1 for the state it is in (global, from its monitor).", "gauge");
  for (const o of sources.origins) for (const state of CIRCUIT_STATES) out.sample("token_router_origin_circuit_state", { origin: o.origin, state }, o.circuit.state === state ? 1 : 0);
  const gauge = (name: string, help: string, value: (o: OriginSnapshot) => number | null | undefined) => {
    out.family(name, help, "gauge");
    for (const o of sources.origins) {
      const v = value(o);
      if (v !== null && v !== undefined) out.sample(name, { origin: o.origin }, v);
    }
  };
  gauge("token_router_origin_ttft_seconds", "Time to first token, EWMA over every isolate's requests (global).", (o) => (o.ttftMs ? o.ttftMs.mean / 1000 : null));
  gauge("token_router_origin_ttft_cv", "Coefficient of variation of the TTFT: the origin's stability (global).", (o) => o.ttftMs?.cv);
  gauge("token_router_origin_latency_seconds", "Whole-request latency, EWMA (global).", (o) => (o.latencyMs ? o.latencyMs.mean / 1000 : null));
  gauge("token_router_origin_error_rate", "Share of failed attempts, EWMA, probes included (global).", (o) => o.errorRate);
  gauge("token_router_origin_in_flight", "Requests in flight at the origin, summed over isolates that reported in the last 30 s.", (o) => o.inFlight);
  gauge("token_router_origin_samples", "Attempts the origin's monitor has counted.", (o) => o.samples);

  out.family("token_router_prefix_cache_hit_ratio", "Prompt tokens the origin reported cached over prompt tokens sent, by scenario (global).", "gauge");
  for (const o of sources.origins) {
    for (const [scenario, p] of Object.entries(o.prefixCache)) out.sample("token_router_prefix_cache_hit_ratio", { origin: o.origin, scenario }, p.hitRate);
  }
  out.family("token_router_prefix_cache_predicted_ratio", "Prompt tokens the router's prefix index predicted cached over prompt tokens sent, by scenario (global).", "gauge");
  for (const o of sources.origins) {
    for (const [scenario, p] of Object.entries(o.prefixCache)) out.sample("token_router_prefix_cache_predicted_ratio", { origin: o.origin, scenario }, p.predictedRate);
  }
  return out.text();
}
