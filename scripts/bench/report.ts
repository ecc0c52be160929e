/**
 * Turning the benchmark's runs into results: per target and connection count, the throughput
 * over all rounds, latency percentiles over every response, CPU per request of the target's own
 * process; then the ratios the router is held to, as a Markdown table and a JSON document.
 */
import { percentile } from "./load";

/** One measured run of one target at one connection count in one round. */
export interface RunRecord {
  round: number;
  target: string;
  connections: number;
  ok: number;
  non2xx: number;
  errors: number;
  seconds: number;
  /** CPU seconds the target's own process used during the run, or null where unmeasurable. */
  cpuSeconds: number | null;
  /** The router's calls to tenants' ledgers during the run (its own count), or null for other targets. */
  ledgerCalls: number | null;
}

/** A target at one connection count, over all rounds. */
export interface Cell {
  target: string;
  label: string;
  connections: number;
  rounds: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** All 2xx responses over all rounds' wall time. */
  rps: number;
  rpsMin: number;
  rpsMax: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** The target server's CPU per 2xx response, in milliseconds. */
  cpuMsPerRequest: number | null;
  /** The router's calls to tenants' ledgers per response. */
  ledgerCallsPerRequest: number | null;
}

export interface Goal {
  name: string;
  measured: number | null;
  unit: string;
  target: string;
  pass: boolean | null;
}

/** A ratio that places the router between its floors, with no target. */
export interface Floor {
  name: string;
  measured: number | null;
}

export interface BenchResults {
  meta: Record<string, string | number | boolean | string[] | number[]>;
  cells: Cell[];
  goals: Goal[];
  /** The router against the metering Worker, and that Worker against the pass-through. */
  floors: Floor[];
  runs: RunRecord[];
}

/**
 * Combines the runs of each (target, connections) pair; `samples` holds their latencies (ms).
 * @example
 * const cell = summarize("router", "Token Router", 32, runs, latencies);
 */
export function summarize(target: string, label: string, connections: number, runs: RunRecord[], samples: number[]): Cell {
  const mine = runs.filter((r) => r.target === target && r.connections === connections);
  const requests = mine.reduce((n, r) => n + r.ok, 0);
  const seconds = mine.reduce((n, r) => n + r.seconds, 0);
  const perRound = mine.map((r) => r.ok / r.seconds);
  const sorted = Float64Array.from(samples).sort();
  const cpu = mine.every((r) => r.cpuSeconds !== null) ? mine.reduce((n, r) => n + r.cpuSeconds!, 0) : null;
  const calls = mine.length > 0 && mine.every((r) => r.ledgerCalls !== null) ? mine.reduce((n, r) => n + r.ledgerCalls!, 0) : null;
  return {
    target,
    label,
    connections,
    rounds: mine.length,
    requests,
    non2xx: mine.reduce((n, r) => n + r.non2xx, 0),
    errors: mine.reduce((n, r) => n + r.errors, 0),
    rps: seconds > 0 ? requests / seconds : 0,
    rpsMin: Math.min(...perRound),
    rpsMax: Math.max(...perRound),
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    cpuMsPerRequest: cpu !== null && requests > 0 ? (cpu * 1000) / requests : null,
    ledgerCallsPerRequest: calls !== null && requests > 0 ? calls / requests : null,
  };
}

function cellOf(cells: Cell[], target: string, connections: number): Cell | undefined {
  return cells.find((c) => c.target === target && c.connections === connections);
}

/** The targets Token Router is held to (they report PASS or MISS; they never fail the run). */
export function goals(cells: Cell[], low: number, high: number): Goal[] {
  const router = cellOf(cells, "router", high);
  const pass = cellOf(cells, "passthrough", high);
  const portkey = cellOf(cells, "portkey", high);
  const routerLow = cellOf(cells, "router", low);
  const passLow = cellOf(cells, "passthrough", low);
  const ratio = (a?: Cell, b?: Cell) => (a && b && b.rps > 0 ? a.rps / b.rps : null);
  const vsPass = ratio(router, pass);
  const vsPortkey = ratio(router, portkey);
  const added = routerLow && passLow ? routerLow.p50Ms - passLow.p50Ms : null;
  const streamed = ratio(cellOf(cells, "router-stream", high), cellOf(cells, "passthrough-stream", high));
  const calls = router?.ledgerCallsPerRequest ?? null;
  const rttLow = cellOf(cells, "router-rtt", low);
  const rttAdded = rttLow && routerLow ? rttLow.p50Ms - routerLow.p50Ms : null;
  return [
    {
      name: `router req/s ÷ pass-through req/s, ${high} connections`,
      measured: vsPass,
      unit: "×",
      target: "≥ 0.60",
      pass: vsPass === null ? null : vsPass >= 0.6,
    },
    {
      name: `router req/s ÷ Portkey req/s, ${high} connections`,
      measured: vsPortkey,
      unit: "×",
      target: "≥ 3.5",
      pass: vsPortkey === null ? null : vsPortkey >= 3.5,
    },
    {
      name: `router p50 − pass-through p50, ${low} connection${low === 1 ? "" : "s"}`,
      measured: added,
      unit: "ms",
      target: "≤ 0.50",
      pass: added === null ? null : added <= 0.5,
    },
    {
      name: `streamed router req/s ÷ streamed pass-through req/s, ${high} connections`,
      measured: streamed,
      unit: "×",
      target: "≥ 0.50",
      pass: streamed === null ? null : streamed >= 0.5,
    },
    {
      name: `router's ledger calls per request, ${high} connections`,
      measured: calls,
      unit: "",
      target: "≤ 0.05",
      pass: calls === null ? null : calls <= 0.05,
    },
    {
      name: `router p50 with a distant ledger − router p50, ${low} connection${low === 1 ? "" : "s"}`,
      measured: rttAdded,
      unit: "ms",
      target: "≤ 1.00",
      pass: rttAdded === null ? null : rttAdded <= 1,
    },
  ];
}

/**
 * Where the router stands between its two floors, at `high` connections: the pass-through
 * Worker (forwarding only) and the metering Worker (the least a router that bills by tokens does).
 */
export function floors(cells: Cell[], high: number): Floor[] {
  const at = (target: string) => cellOf(cells, target, high);
  const ratio = (a?: Cell, b?: Cell, of: (c: Cell) => number | null = (c) => c.rps) => {
    const x = a && of(a);
    const y = b && of(b);
    return x != null && y != null && y > 0 ? x / y : null;
  };
  const cpu = (c: Cell) => c.cpuMsPerRequest;
  return [
    { name: `metering Worker req/s ÷ pass-through req/s, ${high} connections`, measured: ratio(at("metering"), at("passthrough")) },
    { name: `router req/s ÷ metering Worker req/s, ${high} connections`, measured: ratio(at("router"), at("metering")) },
    { name: "router CPU per request ÷ metering Worker's", measured: ratio(at("router"), at("metering"), cpu) },
    { name: `streamed: metering Worker req/s ÷ pass-through req/s, ${high} connections`, measured: ratio(at("metering-stream"), at("passthrough-stream")) },
    { name: `streamed: router req/s ÷ metering Worker req/s, ${high} connections`, measured: ratio(at("router-stream"), at("metering-stream")) },
    { name: "streamed: router CPU per request ÷ metering Worker's", measured: ratio(at("router-stream"), at("metering-stream"), cpu) },
  ].filter((f) => f.measured !== null);
}

const fmt = (n: number | null, digits: number) =>
  n === null || Number.isNaN(n) ? "—" : n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The results as Markdown: what ran, the table, the goals. */
export function toMarkdown(results: BenchResults): string {
  const m = results.meta;
  const lines = [
    "# Token Router benchmark",
    "",
    `${m.date} · commit ${m.commit} · Node ${m.node} · workerd ${m.workerd} · ${m.cpu} × ${m.cores} · load average ${String(m.loadAverage).replace(",", " → ")}`,
    "",
    `${m.rounds} round(s) of ${m.smoke ? `${m.amount} requests` : `${m.durationSeconds} s`} per target and connection count, interleaved round-robin. ` +
      "Origin: the simulated origins with zero latency, the same one for every target. " +
      `Token Router: the demo tenant with rate limits at their maxima and a daily cost budget it cannot spend (the full admission path runs, nothing is refused), its ledger on ${m.ledger}. ` +
      "Latency is the whole response (a stream to its last byte). CPU is the target's own process (the origin's excluded), per 2xx response.",
    "",
    "| target | conns | req/s | (min–max per round) | p50 ms | p90 ms | p99 ms | CPU ms/req | ledger calls/req | requests | non-2xx | errors |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...results.cells.map(
      (c) =>
        `| ${c.label} | ${c.connections} | ${fmt(c.rps, 0)} | ${fmt(c.rpsMin, 0)}–${fmt(c.rpsMax, 0)} | ${fmt(c.p50Ms, 2)} | ${fmt(c.p90Ms, 2)} | ${fmt(c.p99Ms, 2)} | ${fmt(c.cpuMsPerRequest, 3)} | ${fmt(c.ledgerCallsPerRequest, 3)} | ${c.requests} | ${c.non2xx} | ${c.errors} |`,
    ),
    "",
    "| goal | measured | target | result |",
    "|---|---:|---:|---|",
    ...results.goals.map(
      (g) => `| ${g.name} | ${fmt(g.measured, 2)} ${g.unit} | ${g.target} ${g.unit} | ${g.pass === null ? "n/a" : g.pass ? "PASS" : "MISS"} |`,
    ),
    "",
  ];
  if (results.floors.length > 0) {
    lines.push(
      "The floors: the pass-through Worker forwards; the metering Worker also parses, prices and relays (the least a router that bills by tokens does).",
      "",
      "| between the floors | measured |",
      "|---|---:|",
      ...results.floors.map((f) => `| ${f.name} | ${fmt(f.measured, 2)} × |`),
      "",
    );
  }
  return lines.join("\n");
}
