/**
 * What one isolate keeps between requests, in one place (DESIGN §1: per-isolate state has one
 * home): the active config, the router's clock, origins' health snapshots and the reporter, the
 * cool-downs origins asked for, the origins that refused the Responses API lately, the settlement
 * batcher, what placement remembers (cache models, recent load, rotations), the sampling of the
 * decision log, the canary stops already sent, and what guards authentication. Created on first
 * use from the env; everything below it receives the pieces it needs, never the whole.
 */
import { CacheModel } from "./affinity/cache-model";
import { PromptCacheKeys } from "./affinity/prompt-cache-key";
import { RecentLoad } from "./affinity/recent-load";
import { FailureLimiter, type FailureLimitOptions } from "./auth/failure-limit";
import { KeyChecker } from "./auth/key-check";
import { clockOf, type Clock } from "./clock";
import { CONFIG_STORE_NAME } from "./config/config-store";
import { LiveConfig } from "./config/live";
import { activeConfigSource, parseRouterConfig, validateOptionsOf } from "./config/load";
import type { RouterConfig } from "./config/schema";
import { DIRECTORY_NAME } from "./directory/tenant-directory";
import { secretReader, type RouterEnv } from "./env";
import { probeOrigin } from "./health/probe";
import { HealthReporter } from "./health/reporter";
import { SnapshotCache } from "./health/snapshots";
import { ownEntry } from "./lib/own";
import { LeaseHolder, type LeaseHolderOptions } from "./lease/holder";
import { LedgerCallCount, LedgerClient } from "./lease/ledger-client";
import { PrefixIndex } from "./affinity/prefix-index";
import { RequestMetrics } from "./observe/metrics";
import { Readiness } from "./observe/readiness";
import { Cooldowns } from "./proxy/cooldowns";
import { ResponsesRefusals } from "./proxy/responses-refusals";
import { configuredScrubber, type Scrub } from "./proxy/scrub";
import { longestHoldMs } from "./usage/reservation";
import { SettleBatcher } from "./usage/settle-batcher";

/** At most one unexplained decision a second per scenario and isolate goes to the decision log. */
const DECISION_SAMPLE_MS = 1_000;
/** Tenants whose prefix index an isolate keeps a copy of, and how many hashes each (the ledger keeps 20,000). */
const PREFIX_COPIES = 256;
const PREFIX_COPY_HASHES = 5_000;

export class Isolate {
  readonly clock: Clock;
  readonly snapshots: SnapshotCache;
  readonly reporter: HealthReporter;
  readonly cooldowns = new Cooldowns();
  /** Origins that answered a Responses request with 404 or 405 lately: sent chat for a while. */
  readonly responsesRefusals = new ResponsesRefusals();
  /** Settlements gathered per tenant and sent together. */
  readonly settlements = new SettleBatcher();
  readonly promptCacheKeys = new PromptCacheKeys();
  /** Prompt tokens sent to each origin lately (cold placement weighs it). */
  readonly recentLoad = new RecentLoad(15_000);
  /** Requests sent to each origin lately (decayed): the load of the fair-share bound. */
  readonly recentRequests = new RecentLoad(5_000);
  /** What each origin's prefix cache still holds of what this isolate sent (origins that declare their cache size). */
  readonly cacheModel = new CacheModel();
  /** Canary stops this isolate has already sent to a monitor (`origin|scenario`), so it sends each once. */
  readonly canaryStopsSent = new Set<string>();
  /** Tenant keys checked before any tenant's object is reached (MACs, the directory's list). */
  readonly keys: KeyChecker;
  /** Failed authentications per client address: tenant keys and admin tokens apart. */
  readonly keyFailures: FailureLimiter;
  readonly adminFailures: FailureLimiter;
  /** This isolate's leases (DESIGN §3): most requests are admitted here, with no round trip. */
  readonly leases: LeaseHolder;
  /** `/readyz`: the config store, the directory and the monitors answer (cached a few seconds). */
  readonly readiness: Readiness;
  /** This isolate's request counters (`GET /metrics`), fed by every request's log line. */
  readonly metrics = new RequestMetrics();
  /** Calls to tenants' ledgers from the request path: the measure of leased admission. */
  readonly ledgerCalls = new LedgerCallCount();
  /** This isolate's name in health reports and lease records. */
  readonly id = crypto.randomUUID();

  /** The config requests are served with: the ConfigStore's live version (see config/live.ts). */
  readonly live: LiveConfig;
  private scrubber: { config: RouterConfig; scrub: Scrub } | null = null;
  /** Requests placed per scenario: the `round-robin` policy's counter. */
  private readonly rotations = new Map<string, number>();
  /** When this isolate last logged a decision of each scenario (the sampling of `DecisionLog`). */
  private readonly decisionLoggedAt = new Map<string, number>();
  /** Copies of tenants' prefix indexes, fed by what this isolate serves (most recently used last). */
  private readonly prefixCopies = new Map<string, PrefixIndex>();
  /** Settings from the config that objects built at start read on use, updated by `applySettings`. */
  private readonly authFailureSettings: FailureLimitOptions;
  private readonly leaseSettings: LeaseHolderOptions;
  /** Benchmarks only: a modelled round trip before every ledger call. */
  private readonly ledgerRttMs: number;

  constructor(private readonly env: RouterEnv) {
    this.clock = clockOf(env.BENCH_CLOCK);
    const seed = activeConfigSource(env);
    const seedText = typeof seed === "string" ? JSON.stringify(JSON.parse(seed)) : JSON.stringify(seed);
    this.live = new LiveConfig({
      seed: { text: seedText, config: parseRouterConfig(seedText, validateOptionsOf(env)) },
      store: () => env.CONFIG_STORE.getByName(CONFIG_STORE_NAME),
      parse: (text) => parseRouterConfig(text, validateOptionsOf(env)),
      now: Date.now,
      at: this.clock.now,
      onChange: (config) => this.applySettings(config),
      log: (message) => console.warn(message),
    });
    const { health, security, leases } = this.live.config;
    // Refreshed by the real clock; asked as of the router's (they differ only under BENCH_CLOCK).
    this.snapshots = new SnapshotCache({ namespace: env.ORIGIN_MONITOR, now: Date.now, at: this.clock.now, ttlMs: health.snapshotTtlMs });
    this.reporter = new HealthReporter({
      namespace: env.ORIGIN_MONITOR,
      now: this.clock.now,
      maxDelayMs: health.reportDelayMs,
      // The monitor has no config of its own: each batch carries the origin's breaker settings.
      optionsOf: (origin) => {
        const circuit = ownEntry(this.config.origins, origin)?.circuit;
        return circuit ? { circuit } : undefined;
      },
      // A monitor asks for a probe to tell a tenant's failing requests from a failing origin; the
      // isolate runs it, as the cron does (`runProbes`): a Durable Object never fetches.
      probe: async (origin) => {
        const config = ownEntry(this.config.origins, origin);
        return config ? probeOrigin(config, secretReader(env), (input, init) => fetch(input, init), this.clock.now) : null;
      },
    });
    this.keys = new KeyChecker(() => env.TENANT_DIRECTORY.getByName(DIRECTORY_NAME), Date.now);
    this.authFailureSettings = { ...security.authFailures };
    this.keyFailures = new FailureLimiter(this.authFailureSettings);
    this.adminFailures = new FailureLimiter(this.authFailureSettings);
    this.leaseSettings = { holder: this.id, now: this.clock.now, sleep: this.clock.sleep, leaseMs: leases.leaseMs, holdMs: longestHoldMs(this.live.config) };
    this.leases = new LeaseHolder(this.leaseSettings);
    this.ledgerRttMs = Number(env.BENCH_LEDGER_RTT_MS ?? 0) || 0;
    this.readiness = new Readiness(
      () => ({
        config: async () => {
          await this.live.refresh();
          return this.live.lastError === null && this.live.current.version > 0;
        },
        directory: async () => {
          await env.TENANT_DIRECTORY.getByName(DIRECTORY_NAME).exists("readyz");
          return true;
        },
        monitors: async () => {
          const origin = Object.keys(this.config.origins)[0]!;
          await env.ORIGIN_MONITOR.getByName(origin).snapshot(this.clock.now());
          return true;
        },
      }),
      Date.now,
    );
  }

  /** A tenant's ledger as the request path calls it (counted; see lease/ledger-client.ts). */
  ledger(tenantId: string): LedgerClient {
    return new LedgerClient(() => this.env.TENANT_LEDGER.getByName(tenantId), this.ledgerCalls, this.ledgerRttMs);
  }

  /** This isolate's copy of a tenant's prefix index (memory only). */
  prefixIndex(tenantId: string): PrefixIndex {
    let index = this.prefixCopies.get(tenantId);
    if (index) this.prefixCopies.delete(tenantId);
    else index = new PrefixIndex(null, PREFIX_COPY_HASHES);
    this.prefixCopies.set(tenantId, index);
    if (this.prefixCopies.size > PREFIX_COPIES) this.prefixCopies.delete(this.prefixCopies.keys().next().value!);
    return index;
  }

  /** The live config (see config/live.ts): the app awaits `live.ready` before each request. */
  get config(): RouterConfig {
    return this.live.config;
  }

  /**
   * A new config's isolate-wide settings, applied to what was built from the old one. The lease
   * window and the longest hold apply to leases asked for from now on; one already granted keeps
   * its window.
   */
  private applySettings(config: RouterConfig): void {
    this.snapshots.setTtlMs(config.health.snapshotTtlMs);
    this.reporter.setMaxDelayMs(config.health.reportDelayMs);
    Object.assign(this.authFailureSettings, config.security.authFailures);
    this.leaseSettings.leaseMs = config.leases.leaseMs;
    this.leaseSettings.holdMs = longestHoldMs(config);
  }

  /** What scrubs origin text before it reaches a client: origin keys and the router's own tokens. */
  get scrub(): Scrub {
    const config = this.config;
    if (this.scrubber?.config !== config) {
      this.scrubber = { config, scrub: configuredScrubber(config, secretReader(this.env), [this.env.ADMIN_TOKEN, this.env.ADMIN_READ_TOKEN, this.env.DEMO_TENANT_KEY]) };
    }
    return this.scrubber.scrub;
  }

  /** The next value of a scenario's placement counter. */
  nextRotation(scenario: string): number {
    const n = this.rotations.get(scenario) ?? 0;
    this.rotations.set(scenario, n + 1 >= Number.MAX_SAFE_INTEGER ? 0 : n + 1);
    return n;
  }

  /** Whether this decision should be logged: always when it was explained, else at most once a second per scenario. */
  shouldLogDecision(scenario: string, explained: boolean, now: number): boolean {
    const last = this.decisionLoggedAt.get(scenario);
    if (!explained && last !== undefined && now - last < DECISION_SAMPLE_MS) return false;
    this.decisionLoggedAt.set(scenario, now);
    return true;
  }
}

let isolate: Isolate | undefined;

/** This isolate's state, made on first use (the env's bindings do not change within an isolate). */
export function isolateOf(env: RouterEnv): Isolate {
  isolate ??= new Isolate(env);
  return isolate;
}
