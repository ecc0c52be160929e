/**
 * The one validator of routing configs. The Worker at load, the admin API (`PUT /admin/config`),
 * and the deploy and serve scripts all call it, and it reports every problem in one pass: each
 * schema problem zod finds, and each cross-reference problem, which it checks on the raw input so
 * that a shape error elsewhere never hides them:
 * - a scenario naming an origin that is not declared (candidates, degrade, canary, shadow, migration);
 * - a migration beside a scenario's own canary or shadow (its stage sets them), or whose candidate
 *   is already one of the scenario's candidates (it would serve before its stages allow);
 * - an origin's API key secret that is not set (when the caller can see its secrets);
 * - price windows of one origin that overlap (the first open window sets the price, so the later
 *   one would silently lose part of its hours);
 * - origins on loopback addresses outside a local run (the bundled demo config must never reach
 *   the edge, where it would fail at the first request instead of at deploy).
 */
import { z } from "zod";
import { formatPath } from "../lib/zod-path";
import { WEEKDAYS } from "../time/local-time";
import { windowEndsDiffer, windowShape } from "../time/window";
import { routerConfigSchema, type RouterConfig } from "./schema";
import { isRecord } from "../lib/checks";

/** One problem, at its JSON path (`origins.a.baseUrl`, `(root)` for the whole config). */
export interface ConfigProblem {
  path: string;
  message: string;
}

export interface ValidateOptions {
  /**
   * Whether origins may be on loopback (127.0.0.0/8, ::1, localhost): only in local runs, where the
   * simulated origins and a pool on the same machine live (`ALLOW_LOOPBACK_ORIGINS`).
   */
  allowLoopback: boolean;
  /** Whether a secret is set; absent when the caller cannot see them (the deploy script). */
  secretIsSet?: (name: string) => boolean;
}

export type ValidationResult = { ok: true; config: RouterConfig } | { ok: false; problems: ConfigProblem[] };

/**
 * Validates a config given as parsed JSON or as JSON text, listing every problem.
 *
 * @example
 * validateRouterConfig({ version: 2, origins: {}, scenarios: { s: { candidates: [{ origin: "x", model: "m" }] } } }, { allowLoopback: true })
 * // { ok: false, problems: [
 * //   { path: "version", message: "Invalid input: expected 1" },
 * //   { path: "origins", message: "declare at least one origin" },
 * //   { path: "scenarios.s.candidates[0].origin", message: 'unknown origin "x"' } ] }
 */
export function validateRouterConfig(input: unknown, options: ValidateOptions): ValidationResult {
  let raw = input;
  if (typeof input === "string") {
    try {
      raw = JSON.parse(input);
    } catch (e) {
      return { ok: false, problems: [{ path: "(root)", message: `not valid JSON (${(e as Error).message})` }] };
    }
  }
  const parsed = routerConfigSchema.safeParse(raw);
  const problems: ConfigProblem[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => ({ path: formatPath(issue.path) || "(root)", message: issue.message }));
  if (isRecord(raw)) {
    problems.push(...unknownOrigins(raw), ...migrationConflicts(raw), ...missingSecrets(raw, options), ...overlappingPriceWindows(raw));
    if (!options.allowLoopback) problems.push(...loopbackOrigins(raw));
  }
  return problems.length === 0 && parsed.success ? { ok: true, config: parsed.data } : { ok: false, problems };
}

/** `[name, value]` of each entry of `record[key]` that is itself an object. */
function entriesOf(record: Record<string, unknown>, key: string): [string, Record<string, unknown>][] {
  const value = record[key];
  return isRecord(value) ? Object.entries(value).filter((e): e is [string, Record<string, unknown>] => isRecord(e[1])) : [];
}

function unknownOrigins(raw: Record<string, unknown>): ConfigProblem[] {
  const origins = isRecord(raw.origins) ? raw.origins : {};
  const problems: ConfigProblem[] = [];
  const check = (origin: unknown, path: PropertyKey[]) => {
    if (typeof origin === "string" && !Object.hasOwn(origins, origin)) problems.push({ path: formatPath(path), message: `unknown origin "${origin}"` });
  };
  for (const [name, scenario] of entriesOf(raw, "scenarios")) {
    const at = ["scenarios", name];
    if (Array.isArray(scenario.candidates)) scenario.candidates.forEach((c, i) => isRecord(c) && check(c.origin, [...at, "candidates", i, "origin"]));
    if (Array.isArray(scenario.degrade)) scenario.degrade.forEach((origin, i) => check(origin, [...at, "degrade", i]));
    for (const part of ["canary", "shadow"] as const) {
      const mirror = scenario[part];
      if (isRecord(mirror)) check(mirror.origin, [...at, part, "origin"]);
    }
    const candidate = isRecord(scenario.migration) ? scenario.migration.candidate : undefined;
    if (isRecord(candidate)) check(candidate.origin, [...at, "migration", "candidate", "origin"]);
  }
  return problems;
}

function migrationConflicts(raw: Record<string, unknown>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [name, scenario] of entriesOf(raw, "scenarios")) {
    if (!isRecord(scenario.migration)) continue;
    const at = ["scenarios", name];
    for (const part of ["canary", "shadow"] as const) {
      if (scenario[part] !== undefined) {
        problems.push({ path: formatPath([...at, part]), message: `a scenario with a migration gets its ${part} from the migration's stage: remove it (see migration.${part === "canary" ? "canary" : "shadowShare"})` });
      }
    }
    const candidate = scenario.migration.candidate;
    const origin = isRecord(candidate) ? candidate.origin : undefined;
    if (typeof origin === "string" && Array.isArray(scenario.candidates) && scenario.candidates.some((c) => isRecord(c) && c.origin === origin)) {
      problems.push({
        path: formatPath([...at, "migration", "candidate", "origin"]),
        message: `"${origin}" is already one of the scenario's candidates: it would serve users before its stages allow`,
      });
    }
  }
  return problems;
}

function missingSecrets(raw: Record<string, unknown>, options: ValidateOptions): ConfigProblem[] {
  const isSet = options.secretIsSet;
  if (!isSet) return [];
  return entriesOf(raw, "origins").flatMap(([name, origin]) =>
    typeof origin.apiKeySecret === "string" && !isSet(origin.apiKeySecret)
      ? [{ path: formatPath(["origins", name, "apiKeySecret"]), message: `secret "${origin.apiKeySecret}" is not set (wrangler secret put ${origin.apiKeySecret})` }]
      : [],
  );
}

/** Whether a URL's host is this machine: 127.0.0.0/8, ::1, 0.0.0.0, `localhost` and its subdomains. */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    // The URL parser normalises the spellings of an address (2130706433, 0x7f.1, [0:0::1]).
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    /^127\.\d+\.\d+\.\d+$/.test(host) ||
    host === "0.0.0.0" ||
    host === "[::1]" ||
    host === "[::]" ||
    /^\[::ffff:(127\.|7f)/.test(host)
  );
}

function loopbackOrigins(raw: Record<string, unknown>): ConfigProblem[] {
  return entriesOf(raw, "origins").flatMap(([name, origin]) =>
    typeof origin.baseUrl === "string" && isLoopbackUrl(origin.baseUrl)
      ? [
          {
            path: formatPath(["origins", name, "baseUrl"]),
            message: "a loopback address is refused outside a local run (is this the bundled demo config? deploy with ROUTER_CONFIG set to yours)",
          },
        ]
      : [],
  );
}

const MINUTES_PER_DAY = 1440;
const MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY;
const looseWindow = z.object(windowShape).refine(windowEndsDiffer);

/** A window's minutes of the week on its own wall clock, as half-open intervals. */
function weekIntervals(window: z.infer<typeof looseWindow>): [number, number][] {
  const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  const from = minutes(window.from);
  const to = minutes(window.to);
  const length = to > from ? to - from : MINUTES_PER_DAY - from + to;
  const intervals: [number, number][] = [];
  for (const day of window.days) {
    const start = WEEKDAYS.indexOf(day) * MINUTES_PER_DAY + from;
    const end = start + length;
    if (end <= MINUTES_PER_WEEK) intervals.push([start, end]);
    else intervals.push([start, MINUTES_PER_WEEK], [0, end - MINUTES_PER_WEEK]);
  }
  return intervals;
}

function intersects(a: [number, number][], b: [number, number][]): boolean {
  return a.some(([s1, e1]) => b.some(([s2, e2]) => s1 < e2 && s2 < e1));
}

/**
 * Price windows of one origin that share a minute. Windows in different time zones are not
 * compared: whether they meet depends on the date (daylight saving), so such configs are taken as
 * written, first window first.
 */
function overlappingPriceWindows(raw: Record<string, unknown>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [name, origin] of entriesOf(raw, "origins")) {
    // Its base prices, and each `service_tier`'s own (issue #17), which have windows of their own.
    const tables: [PropertyKey[], unknown][] = [[["origins", name, "pricing"], origin.pricing]];
    for (const [tier, pricing] of entriesOf(origin, "serviceTiers")) tables.push([["origins", name, "serviceTiers", tier], pricing]);
    for (const [at, pricing] of tables) {
      const windows = isRecord(pricing) && Array.isArray(pricing.windows) ? pricing.windows : [];
      const parsed = windows.map((w) => looseWindow.safeParse(w));
      parsed.forEach((later, j) => {
        if (!later.success) return;
        const laterIntervals = weekIntervals(later.data);
        for (let i = 0; i < j; i++) {
          const earlier = parsed[i]!;
          if (earlier.success && earlier.data.timeZone === later.data.timeZone && intersects(weekIntervals(earlier.data), laterIntervals)) {
            problems.push({
              path: formatPath([...at, "windows", j]),
              message: `overlaps window ${i}, which sets the price where they meet: split them so each hour has one price`,
            });
            return;
          }
        }
      });
    }
  }
  return problems;
}
