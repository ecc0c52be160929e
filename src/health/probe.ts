/**
 * Active probes: a minimal request to each origin, so an idle origin's circuit still moves (an open
 * circuit needs successful probes to close when no traffic is sent its way). Run from the Worker's
 * `scheduled` handler; results go to each origin's monitor as `probe: true` samples, which count
 * for the breaker and the error rate but not for latencies (a model listing is not a generation).
 */
import type { OriginConfig, RouterConfig } from "../config/schema";
import { upstreamHeaders, type SecretReader } from "../proxy/upstream-request";
import type { ReportNamespace } from "./reporter";
import type { HealthSample, SampleKind } from "./types";

/** A probe gives up after the origin's first-byte timeout, and never waits longer than this. */
export const MAX_PROBE_TIMEOUT_MS = 10_000;

type Fetch = (input: string, init: RequestInit) => Promise<Response>;

function kindOfStatus(status: number): SampleKind {
  if (status === 429) return "status_429";
  if (status >= 500) return "status_5xx";
  // 401/403: our key is refused, so requests fail the same way; 404: the base URL is wrong; 3xx: an
  // origin that redirects (never followed) is not answering.
  return "invalid_response";
}

/**
 * Probes an origin with `GET {baseUrl}/models` and its API key, bounded by its first-byte timeout
 * (at most 10 s for headers and body together). Null when the origin's key secret is not set: that
 * says nothing about the origin's health.
 * @example
 * await probeOrigin(config.origins.pool, readSecret, fetch, Date.now)
 * // { at: 1764000000000, ok: true, kind: "ok", latencyMs: 12, probe: true }
 */
export async function probeOrigin(
  origin: OriginConfig,
  readSecret: SecretReader,
  fetchImpl: Fetch,
  now: () => number,
): Promise<HealthSample | null> {
  const headers = upstreamHeaders(new Headers({ accept: "application/json" }), origin, `probe_${crypto.randomUUID()}`, readSecret);
  if (!headers) return null;
  headers.delete("content-type"); // a GET has no body
  const started = now();
  const sample = (kind: SampleKind): HealthSample => ({ at: started, ok: kind === "ok", kind, latencyMs: Math.max(0, now() - started), probe: true });

  // The abort stops a real fetch and its body; the race also bounds a fetch that ignores the signal.
  const controller = new AbortController();
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
      reject(new Error("probe timed out"));
    }, Math.min(origin.timeouts.firstByteMs, MAX_PROBE_TIMEOUT_MS));
  });
  expired.catch(() => {}); // observed through the races below
  try {
    let response: Response;
    try {
      response = await Promise.race([fetchImpl(`${origin.baseUrl}/models`, { method: "GET", headers, signal: controller.signal, redirect: "manual" }), expired]);
    } catch {
      return sample(timedOut ? "timeout" : "connect_error");
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      return sample(kindOfStatus(response.status));
    }
    let text: string;
    try {
      text = await Promise.race([response.text(), expired]);
    } catch {
      return sample(timedOut ? "timeout" : "broken");
    }
    try {
      const json: unknown = JSON.parse(text);
      return sample(typeof json === "object" && json !== null ? "ok" : "invalid_response");
    } catch {
      return sample("invalid_response");
    }
  } finally {
    clearTimeout(timer);
  }
}

/** What `runProbes` needs of the Worker's env: the monitors, and origin API keys by secret name. */
export interface ProbeEnv {
  ORIGIN_MONITOR: ReportNamespace;
}

/** One origin's probe: its sample, or null when it was not probed (no key). */
export interface ProbeResult {
  origin: string;
  sample: HealthSample | null;
}

/** Reads an origin key secret from the env by name (Worker secrets are env properties). */
function envSecrets(env: ProbeEnv): SecretReader {
  return (name) => {
    const value = (env as unknown as Record<string, unknown>)[name];
    return typeof value === "string" && value !== "" ? value : undefined;
  };
}

/**
 * Probes every origin of the config in parallel and reports each sample to its monitor, one batch
 * per origin (batch id `probe:<origin>:<at>`, so a repeated run at the same instant counts once).
 * For the `scheduled` handler: `ctx.waitUntil(runProbes(isolate.config, env, isolate.clock.now))`.
 */
export async function runProbes(
  config: RouterConfig,
  env: ProbeEnv,
  now: () => number = Date.now,
  fetchImpl: Fetch = (input, init) => fetch(input, init),
): Promise<ProbeResult[]> {
  const readSecret = envSecrets(env);
  return Promise.all(
    Object.entries(config.origins).map(async ([name, origin]): Promise<ProbeResult> => {
      const sample = await probeOrigin(origin, readSecret, fetchImpl, now);
      if (!sample) {
        console.error(`probe of ${name} skipped: secret ${origin.apiKeySecret} is not set`);
        return { origin: name, sample: null };
      }
      try {
        await env.ORIGIN_MONITOR.getByName(name).report({
          batchId: `probe:${name}:${sample.at}`,
          origin: name,
          isolateId: `probe:${name}`,
          at: now(),
          inFlight: 0,
          samples: [sample],
        });
      } catch (e) {
        console.error(`probe of ${name}: report failed: ${(e as Error).message}`);
      }
      return { origin: name, sample };
    }),
  );
}
