/**
 * The isolate's cache of origin snapshots: reads are synchronous and never wait for a monitor.
 * A snapshot older than the TTL is still returned (stale-while-revalidate) while one background
 * refresh per origin fetches a new one; the caller hands that promise to `ctx.waitUntil`. Before
 * the first refresh lands, an origin has no snapshot (null): the router then knows nothing of its
 * health and treats it as it would a healthy one.
 */
import type { OriginSnapshot } from "./types";

/** The one method of a monitor stub the cache uses. */
export interface SnapshotTarget {
  snapshot(at: number): Promise<OriginSnapshot>;
}

/** Where monitors are found: `env.ORIGIN_MONITOR` fits. */
export interface SnapshotNamespace {
  getByName(origin: string): SnapshotTarget;
}

export interface SnapshotCacheOptions {
  namespace: SnapshotNamespace;
  /** The clock of the TTL. */
  now: () => number;
  /** The instant a snapshot is asked as of (the router's clock; default `now`). */
  at?: () => number;
  /** A snapshot older than this is refreshed in the background (default 5000 ms). */
  ttlMs?: number;
}

/** A read: the snapshot the isolate has (or null), and the refresh it started or awaits (or null). */
export interface SnapshotRead {
  snapshot: OriginSnapshot | null;
  refresh: Promise<void> | null;
}

interface Entry {
  snapshot: OriginSnapshot | null;
  /** When the snapshot (or the last failed attempt) was asked for: a failure also waits a TTL. */
  fetchedAt: number;
  refreshing: Promise<void> | null;
}

/**
 * Per-isolate snapshots of origins' health, refreshed in the background.
 * @example
 * const cache = new SnapshotCache({ namespace: env.ORIGIN_MONITOR, now: Date.now });
 * const { snapshot, refresh } = cache.get("deepseek");
 * if (refresh) ctx.waitUntil(refresh);
 */
export class SnapshotCache {
  private readonly namespace: SnapshotNamespace;
  private readonly now: () => number;
  private readonly at: () => number;
  private ttlMs: number;
  private readonly entries = new Map<string, Entry>();

  constructor(options: SnapshotCacheOptions) {
    this.namespace = options.namespace;
    this.now = options.now;
    this.at = options.at ?? options.now;
    this.ttlMs = options.ttlMs ?? 5_000;
  }

  /** A live config change: snapshots older than this are refreshed from now on. */
  setTtlMs(ttlMs: number): void {
    this.ttlMs = ttlMs;
  }

  /**
   * Fetches the origin's snapshot now, after any refresh already running (which may have read it
   * before a change): an operator's change (a canary stopped or resumed) holds in this isolate
   * from the moment this resolves.
   */
  async refreshNow(origin: string): Promise<void> {
    const entry = this.entries.get(origin) ?? { snapshot: null, fetchedAt: this.now(), refreshing: null };
    this.entries.set(origin, entry);
    while (entry.refreshing) await entry.refreshing;
    const at = this.now();
    entry.refreshing = this.refresh(origin, entry, at);
    await entry.refreshing;
  }

  /** The snapshot without starting a refresh. */
  peek(origin: string): OriginSnapshot | null {
    return this.entries.get(origin)?.snapshot ?? null;
  }

  /**
   * The snapshot of `origin` as this isolate has it, and, when it is missing or older than the
   * TTL, the promise of its refresh (shared by every caller while it runs; it never rejects).
   */
  get(origin: string): SnapshotRead {
    const entry = this.entries.get(origin);
    const now = this.now();
    if (entry?.refreshing) return { snapshot: entry.snapshot, refresh: entry.refreshing };
    if (entry && now - entry.fetchedAt < this.ttlMs) return { snapshot: entry.snapshot, refresh: null };
    const current: Entry = entry ?? { snapshot: null, fetchedAt: now, refreshing: null };
    this.entries.set(origin, current);
    current.refreshing = this.refresh(origin, current, now);
    return { snapshot: current.snapshot, refresh: current.refreshing };
  }

  /** {@link get} for several origins; one promise for every refresh started. */
  getMany(origins: readonly string[]): { snapshots: Map<string, OriginSnapshot | null>; refresh: Promise<void> | null } {
    const snapshots = new Map<string, OriginSnapshot | null>();
    const refreshes: Promise<void>[] = [];
    for (const origin of origins) {
      const read = this.get(origin);
      snapshots.set(origin, read.snapshot);
      if (read.refresh) refreshes.push(read.refresh);
    }
    return { snapshots, refresh: refreshes.length === 0 ? null : Promise.all(refreshes).then(() => undefined) };
  }

  private async refresh(origin: string, entry: Entry, at: number): Promise<void> {
    try {
      entry.snapshot = await this.namespace.getByName(origin).snapshot(this.at === this.now ? at : this.at());
    } catch (e) {
      // Keep what we had; the next try comes a TTL later rather than on every request.
      console.error(`health snapshot of ${origin} failed: ${(e as Error).message}`);
    } finally {
      entry.fetchedAt = at;
      entry.refreshing = null;
    }
  }
}
