/**
 * A health report of the shape our isolates send, validated without zod. On workerd zod cannot
 * compile its object parsers (no `new Function`), and its generic walk over a batch of 50 samples
 * was most of what an OriginMonitor's `report` cost (about 1% of a request's CPU in all).
 *
 * `reportFastPath` answers only for reports it can judge with certainty: ones `healthReportSchema`
 * accepts, returning what zod returns (the same keys and values; `options` goes through zod, being
 * small and carrying defaults). Anything else, every invalid report and the rare shapes (a key
 * present with the value `undefined`, integers past the safe range), is left to zod (`undefined`),
 * which says what is wrong. test/health/report-fast-path.test.ts holds it to zod's output on
 * generated reports.
 */
import type { z } from "zod";
import { intIn, isRecord, numberIn } from "../lib/checks";
import { ownEntry } from "../lib/own";
import { healthOptionsSchema, MAX_BATCH_SAMPLES, PLACEMENTS, SAMPLE_KINDS, type healthReportSchema, type HealthSample } from "./types";

type Loose = Record<string, unknown>;
export type ParsedHealthReport = z.output<typeof healthReportSchema>;

const stringIn = (v: unknown, min: number, max: number) => typeof v === "string" && v.length >= min && v.length <= max;
const name = (v: unknown) => stringIn(v, 1, 64);
const millis = (v: unknown) => numberIn(v, 0, 86_400_000);
const tokens = (v: unknown) => intIn(v, 0, 100_000_000);

const KINDS = new Set<unknown>(SAMPLE_KINDS);
const PLACEMENT_SET = new Set<unknown>(PLACEMENTS);
const GATES = new Set<unknown>(["passed", "failed"]);

type Check = (v: unknown) => boolean;

/** What a strict object's keys accept, and which of them it requires. */
interface Shape {
  fields: Readonly<Record<string, Check>>;
  required: ReadonlySet<string>;
}

/** An object of `shape`: its keys all known and passing their check, none `undefined`, each required one present. */
function strictObject(v: unknown, shape: Shape): boolean {
  if (!isRecord(v)) return false;
  let present = 0;
  for (const key in v) {
    const check = ownEntry(shape.fields, key);
    const value = v[key];
    if (!check || value === undefined || !check(value)) return false;
    if (shape.required.has(key)) present++;
  }
  return present === shape.required.size;
}

const PREFIX: Shape = {
  fields: { scenario: name, placement: (v) => PLACEMENT_SET.has(v), promptTokens: tokens, predictedTokens: tokens, reportedTokens: tokens },
  required: new Set(["scenario", "placement", "promptTokens", "predictedTokens", "reportedTokens"]),
};
const OUTCOME: Shape = { fields: { scenario: name, gate: (v) => GATES.has(v) }, required: new Set(["scenario"]) };
const SAMPLE: Shape = {
  fields: {
    at: (v) => intIn(v, 0, Number.MAX_SAFE_INTEGER),
    ok: (v) => typeof v === "boolean",
    kind: (v) => KINDS.has(v),
    ttftMs: millis,
    latencyMs: millis,
    outputTokens: (v) => intIn(v, 0, 10_000_000),
    probe: (v) => typeof v === "boolean",
    tenant: name,
    prefix: (v) => strictObject(v, PREFIX),
    outcome: (v) => strictObject(v, OUTCOME),
  },
  required: new Set(["at", "ok", "kind"]),
};

/** A sample `healthSampleSchema` accepts as it is (its refinements included). */
function sample(v: unknown): v is HealthSample {
  if (!strictObject(v, SAMPLE)) return false;
  const s = v as HealthSample;
  return s.ok === (s.kind === "ok") && !(s.probe && s.tenant !== undefined);
}

/** A new sample of the same keys and values, as zod returns (plain objects all through). */
function copySample(s: HealthSample): HealthSample {
  const copy = { ...s };
  if (s.prefix) copy.prefix = { ...s.prefix };
  if (s.outcome) copy.outcome = { ...s.outcome };
  return copy;
}

const REPORT_KEYS = new Set(["batchId", "origin", "isolateId", "at", "inFlight", "samples", "options"]);

/** The report as zod returns it, or undefined when zod must judge it. */
export function reportFastPath(input: unknown): ParsedHealthReport | undefined {
  if (!isRecord(input)) return undefined;
  for (const key in input) if (!REPORT_KEYS.has(key) || input[key] === undefined) return undefined;
  const { batchId, origin, isolateId, at, inFlight, samples, options } = input;
  if (!stringIn(batchId, 1, 200) || !name(origin) || !stringIn(isolateId, 1, 200)) return undefined;
  if (!intIn(at, 0, Number.MAX_SAFE_INTEGER) || !intIn(inFlight, 0, 1_000_000)) return undefined;
  if (!Array.isArray(samples) || samples.length > MAX_BATCH_SAMPLES) return undefined;
  for (let i = 0; i < samples.length; i++) if (!sample(samples[i])) return undefined;
  const report: ParsedHealthReport = { batchId, origin, isolateId, at, inFlight, samples: samples.map(copySample) } as ParsedHealthReport;
  if (options !== undefined) {
    const parsed = healthOptionsSchema.safeParse(options);
    if (!parsed.success) return undefined;
    report.options = parsed.data;
  }
  return report;
}
