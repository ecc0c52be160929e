/**
 * `/readyz`: whether this isolate can serve. Its config is the store's live version (checked now,
 * and valid here), and the Durable Objects every request relies on answer: the tenant directory
 * (keys are checked against it) and an origin's monitor (routing reads health from them). Tenants'
 * ledgers are not asked: each lives in its own place, and a request to one says more than a probe.
 *
 * The answer is public, so it says only which check failed, never why (the why is in the log and
 * in `GET /admin/isolate`), and it is computed at most once per `ttlMs` per isolate: probing it
 * cannot multiply calls to the objects behind it.
 */
export type CheckResult = "ok" | "failing";

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, CheckResult>;
}

/** Each check resolves true when healthy; a rejection or a timeout is a failure. */
export type Checks = Record<string, () => Promise<boolean>>;

export const READINESS_TTL_MS = 5_000;
const CHECK_TIMEOUT_MS = 2_000;

function withTimeout(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([check().catch(() => false), timeout]).finally(() => clearTimeout(timer));
}

export class Readiness {
  private last: { at: number; report: ReadinessReport } | null = null;
  private running: Promise<ReadinessReport> | null = null;

  constructor(
    private readonly checks: () => Checks,
    private readonly now: () => number,
    private readonly ttlMs = READINESS_TTL_MS,
  ) {}

  report(): Promise<ReadinessReport> {
    if (this.last && this.now() - this.last.at < this.ttlMs) return Promise.resolve(this.last.report);
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async run(): Promise<ReadinessReport> {
    const entries = Object.entries(this.checks());
    const results = await Promise.all(entries.map(([, check]) => withTimeout(check, CHECK_TIMEOUT_MS)));
    const checks = Object.fromEntries(entries.map(([name], i) => [name, results[i] ? "ok" : "failing"])) as Record<string, CheckResult>;
    const report = { ready: results.every(Boolean), checks };
    this.last = { at: this.now(), report };
    return report;
  }
}
