/**
 * The config an isolate serves with: the ConfigStore's live version, picked up without a call per
 * request.
 *
 * An isolate starts with its seed (validated at module load) and asks the store for the live
 * version's number at most every `checkMs` (2 s), in the background (`waitUntil`) while requests
 * keep flowing. When the number changed, it fetches that version, validates it here (this
 * isolate's code and secrets decide what it can run) and swaps it in for the next request. A
 * request that finds the last check older than `maxStaleMs` (5 s: the first request of an isolate,
 * or the first after a quiet spell) waits for the check instead. So a request is never served
 * with a config that was replaced more than `maxStaleMs` plus one store round trip before it.
 *
 * When the store cannot be reached, or its live version does not validate here (a rolling deploy
 * whose new code added a field this code refuses), the isolate keeps what it has and says why in
 * `lastError` (`/readyz` reports it).
 */
import { sha256Hex } from "../lib/sha256";
import type { RouterConfig } from "./schema";
import type { ConfigHead, ConfigVersion, Seed } from "./config-store";

/** What the isolate calls on the store (a `DurableObjectStub<ConfigStore>` in production). */
export interface ConfigStoreApi {
  head(seedHash: string): Promise<ConfigHead & { seedKnown: boolean }>;
  importSeed(seed: Seed): Promise<ConfigHead>;
  live(): Promise<(ConfigVersion & { storeId: string }) | null>;
}

export interface LiveConfigOptions {
  /** The seed as canonical JSON text, and as parsed at load. */
  seed: { text: string; config: RouterConfig };
  /** A stub for this call: a stub made in one request cannot serve another's. */
  store: () => ConfigStoreApi;
  /** Validates a stored version for this isolate; throws when it cannot run it. */
  parse: (text: string) => RouterConfig;
  /** The real clock (ms): how stale the config is, whatever clock the router runs on. */
  now: () => number;
  /** The router's clock, for when a seed is recorded. */
  at: () => number;
  checkMs?: number;
  maxStaleMs?: number;
  /** Called with each newly adopted config. */
  onChange?: (config: RouterConfig) => void;
  log?: (message: string) => void;
}

/** The version an isolate runs: 0 until the store has confirmed one. */
export interface RunningConfig {
  storeId: string | null;
  version: number;
  config: RouterConfig;
}

export const CONFIG_CHECK_MS = 2_000;
export const CONFIG_MAX_STALE_MS = 5_000;

export class LiveConfig {
  /** Calls made to the store (the per-request path makes none). */
  calls = 0;
  /** Why the last check failed, or null. */
  lastError: string | null = null;
  private running: RunningConfig;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | null = null;
  private seedHash: Promise<string> | null = null;
  /** The store version this isolate could not validate, so it is not fetched again and again. */
  private refused: string | null = null;
  private readonly checkMs: number;
  private readonly maxStaleMs: number;

  constructor(private readonly options: LiveConfigOptions) {
    this.running = { storeId: null, version: 0, config: options.seed.config };
    this.checkMs = options.checkMs ?? CONFIG_CHECK_MS;
    this.maxStaleMs = options.maxStaleMs ?? CONFIG_MAX_STALE_MS;
  }

  get config(): RouterConfig {
    return this.running.config;
  }

  get current(): Readonly<RunningConfig> {
    return this.running;
  }

  /**
   * Before a request: nothing while the last check is fresh; a check in the background (`defer`)
   * once it is `checkMs` old; a check the request waits for once it is `maxStaleMs` old.
   */
  ready(defer: (work: Promise<void>) => void): Promise<void> | null {
    const age = this.options.now() - this.checkedAt;
    if (age < this.checkMs) return null;
    const check = this.refresh();
    if (age >= this.maxStaleMs) return check;
    defer(check);
    return null;
  }

  /** Asks the store for its live version now (one check at a time). */
  refresh(): Promise<void> {
    this.refreshing ??= this.check().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Runs a version this isolate has just written (an admin change), without waiting for the next check. */
  adopt(storeId: string, version: number, config: RouterConfig): void {
    if (storeId === this.running.storeId && version <= this.running.version) return;
    this.swap({ storeId, version, config });
  }

  private async check(): Promise<void> {
    const started = this.options.now();
    try {
      const hash = await (this.seedHash ??= sha256Hex(this.options.seed.text));
      this.calls++;
      const asked = await this.options.store().head(hash);
      let head: ConfigHead = asked;
      if (!asked.seedKnown) {
        this.calls++;
        head = await this.options.store().importSeed({ config: this.options.seed.text, hash, at: this.options.at() });
      }
      const key = `${head.storeId}#${head.version}`;
      if ((head.storeId !== this.running.storeId || head.version !== this.running.version) && key !== this.refused) {
        this.calls++;
        const live = await this.options.store().live();
        if (live) this.take(live);
      }
      if (this.refused === null) this.lastError = null;
    } catch (e) {
      this.lastError = `the config store could not be reached: ${(e as Error).message}`;
      this.options.log?.(this.lastError);
    } finally {
      this.checkedAt = started;
    }
  }

  private take(live: ConfigVersion & { storeId: string }): void {
    try {
      this.swap({ storeId: live.storeId, version: live.version, config: this.options.parse(live.config) });
      this.refused = null;
    } catch (e) {
      this.refused = `${live.storeId}#${live.version}`;
      this.lastError = `config version ${live.version} does not validate here, version ${this.running.version} stays: ${(e as Error).message}`;
      this.options.log?.(this.lastError);
    }
  }

  private swap(next: RunningConfig): void {
    this.running = next;
    this.options.onChange?.(next.config);
  }
}
