/**
 * The isolate's side of health reporting: samples are buffered per origin and sent to the origin's
 * monitor in batches, never awaited on a request's path. `record` returns the promise of any send
 * it started (or null); the caller hands it to `ctx.waitUntil`.
 *
 * A batch leaves when `maxSamples` (50) are buffered, or `maxDelayMs` (2 s) after its first sample:
 * the first sample of a batch returns a promise that sleeps that long and then sends, so an isolate
 * that goes quiet still delivers what it saw (waitUntil keeps the invocation alive up to 30 s).
 * Any `record` also sends every buffer whose first sample is older than that by the clock, in case
 * such a sleep was cut short.
 *
 * A monitor may answer a batch by asking for a probe (`ReportResult.probe`: a tenant's failures
 * need confirming). The reporter then runs the probe it was given, here in the isolate, since the
 * monitor never fetches, and sends the probe's sample at once, within the same send's promise.
 */
import type { HealthOptionsInput, HealthReport, HealthSample, ReportResult } from "./types";

/** The one method of a monitor stub the reporter uses. */
export interface ReportTarget {
  report(batch: HealthReport): Promise<Partial<ReportResult> | undefined>;
}

/** Where monitors are found: `env.ORIGIN_MONITOR` fits. */
export interface ReportNamespace {
  getByName(origin: string): ReportTarget;
}

export interface HealthReporterOptions {
  namespace: ReportNamespace;
  now: () => number;
  /** Identifies this isolate's in-flight counts at the monitor; random by default. */
  isolateId?: string;
  /** Send when this many samples are buffered for an origin (default 50). */
  maxSamples?: number;
  /** Send this long after a buffer's first sample (default 2000 ms). */
  maxDelayMs?: number;
  /** How the delayed send waits; tests inject their own. */
  sleep?: (ms: number) => Promise<void>;
  /** The monitor settings of an origin, sent with each batch (from its config); none by default. */
  optionsOf?: (origin: string) => HealthOptionsInput | undefined;
  /**
   * Probes an origin when its monitor asks (`probeOrigin` with the origin's config fits); its
   * sample, or null when the origin cannot be probed. Without it, such requests are ignored.
   */
  probe?: (origin: string) => Promise<HealthSample | null>;
}

interface Pending {
  samples: HealthSample[];
  firstAt: number;
  /** Distinguishes this buffer from the next one for the same origin, for its delayed send. */
  generation: number;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Buffers health samples per origin and sends them in batches. One per isolate.
 * @example
 * const reporter = new HealthReporter({ namespace: env.ORIGIN_MONITOR, now: Date.now });
 * reporter.begin("deepseek");
 * // ... the attempt ...
 * const send = reporter.record("deepseek", { at: started, ok: true, kind: "ok", ttftMs: 180, latencyMs: 2400, outputTokens: 312 });
 * if (send) ctx.waitUntil(send);
 */
export class HealthReporter {
  readonly isolateId: string;
  private readonly namespace: ReportNamespace;
  private readonly now: () => number;
  private readonly maxSamples: number;
  private maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly optionsOf: (origin: string) => HealthOptionsInput | undefined;
  private readonly probe: ((origin: string) => Promise<HealthSample | null>) | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly inFlightByOrigin = new Map<string, number>();
  private generation = 0;
  private sequence = 0;

  constructor(options: HealthReporterOptions) {
    this.namespace = options.namespace;
    this.now = options.now;
    this.isolateId = options.isolateId ?? crypto.randomUUID();
    this.maxSamples = options.maxSamples ?? 50;
    this.maxDelayMs = options.maxDelayMs ?? 2_000;
    this.sleep = options.sleep ?? sleepFor;
    this.optionsOf = options.optionsOf ?? (() => undefined);
    this.probe = options.probe;
  }

  /** A live config change: batches leave this long after their first sample from now on. */
  setMaxDelayMs(maxDelayMs: number): void {
    this.maxDelayMs = maxDelayMs;
  }

  /** An attempt at `origin` starts: it counts as in flight until its sample is recorded. */
  begin(origin: string): void {
    this.inFlightByOrigin.set(origin, this.inFlight(origin) + 1);
  }

  /** Attempts at `origin` begun and not yet recorded, as this isolate counts them. */
  inFlight(origin: string): number {
    return this.inFlightByOrigin.get(origin) ?? 0;
  }

  /** An attempt at `origin` that `begin` started ends with no sample to report. */
  end(origin: string): void {
    this.inFlightByOrigin.set(origin, Math.max(0, this.inFlight(origin) - 1));
  }

  /** Samples buffered for `origin`, not sent yet. */
  buffered(origin: string): number {
    return this.pending.get(origin)?.samples.length ?? 0;
  }

  /**
   * Buffers an attempt's sample (ending the attempt `begin` started, unless it is a probe) and
   * returns the promise of the sends this started, or null. The promise never rejects.
   */
  record(origin: string, sample: HealthSample): Promise<void> | null {
    if (!sample.probe) this.end(origin);
    const sends: Promise<void>[] = [];
    let buffer = this.pending.get(origin);
    if (!buffer) {
      buffer = { samples: [], firstAt: this.now(), generation: ++this.generation };
      this.pending.set(origin, buffer);
      sends.push(this.sendLater(origin, buffer.generation));
    }
    buffer.samples.push(sample);
    if (buffer.samples.length >= this.maxSamples) sends.push(this.flush(origin)!);
    const due = this.flushDue();
    if (due) sends.push(due);
    return sends.length === 0 ? null : Promise.all(sends).then(() => undefined);
  }

  /** Sends every buffer whose first sample is at least `maxDelayMs` old; null when none is. */
  flushDue(): Promise<void> | null {
    const now = this.now();
    const due = [...this.pending].filter(([, p]) => now - p.firstAt >= this.maxDelayMs).map(([origin]) => this.flush(origin)!);
    return due.length === 0 ? null : Promise.all(due).then(() => undefined);
  }

  /** Sends everything buffered (e.g. at the end of a scheduled run); null when nothing is. */
  flushAll(): Promise<void> | null {
    const all = [...this.pending.keys()].map((origin) => this.flush(origin)!);
    return all.length === 0 ? null : Promise.all(all).then(() => undefined);
  }

  /** Sends what is buffered for `origin` now; null when nothing is. */
  flush(origin: string): Promise<void> | null {
    const buffer = this.pending.get(origin);
    if (!buffer) return null;
    this.pending.delete(origin);
    return this.send(this.batchOf(origin, buffer.samples));
  }

  private batchOf(origin: string, samples: HealthSample[]): HealthReport {
    const options = this.optionsOf(origin);
    return {
      batchId: `${this.isolateId}:${++this.sequence}`,
      origin,
      isolateId: this.isolateId,
      at: this.now(),
      inFlight: this.inFlight(origin),
      samples,
      ...(options ? { options } : {}),
    };
  }

  private async sendLater(origin: string, generation: number): Promise<void> {
    await this.sleep(this.maxDelayMs);
    // Already sent (size or clock) when the buffer is gone or is a newer one.
    if (this.pending.get(origin)?.generation === generation) await this.flush(origin);
  }

  /** One retry with the same batch id: the monitor ignores a batch it already applied. */
  private async send(batch: HealthReport): Promise<void> {
    let result: Partial<ReportResult> | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        result = await this.namespace.getByName(batch.origin).report(batch);
        break;
      } catch (e) {
        if (attempt >= 2) {
          console.error(`health report ${batch.batchId} for ${batch.origin} lost: ${(e as Error).message}`);
          return;
        }
      }
    }
    if (result?.probe === true) await this.confirm(batch.origin);
  }

  /** Runs the probe a monitor asked for and sends its sample in a batch of its own; never throws. */
  private async confirm(origin: string): Promise<void> {
    if (!this.probe) return;
    let sample: HealthSample | null;
    try {
      sample = await this.probe(origin);
    } catch (e) {
      console.error(`probe of ${origin} asked by its monitor failed to run: ${(e as Error).message}`);
      return;
    }
    if (sample) await this.send(this.batchOf(origin, [sample]));
  }
}
