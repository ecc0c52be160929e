/**
 * Replays a trace against a router, open loop: each request starts at its `at` offset whatever
 * happened to the others (a slow origin does not slow the arrivals down, as with real users),
 * capped only by a high bound on requests in flight. Each tenant uses its own API key.
 *
 * Per request: the status, the serving origin (`x-router-origin`), the informational
 * `x-router-affinity`, the client's TTFT (from just before `fetch` to the first non-empty content
 * delta), the usage of the final chunk (prompt and cached tokens), and how late it was sent.
 */
import type { TraceEntry } from "./workload";

export interface RequestResult {
  index: number;
  tenant: string;
  tier: string;
  kind: TraceEntry["kind"];
  status: number;
  origin: string | null;
  affinity: string | null;
  /** ms; null when no content arrived. */
  ttftMs: number | null;
  totalMs: number;
  promptTokens: number | null;
  cachedTokens: number | null;
  completionTokens: number | null;
  /** How much later than its `at` the request was sent (driver lag, the in-flight cap). */
  lagMs: number;
  /** Why it counts as an error, if it does. */
  error: string | null;
}

export interface ReplayOptions {
  baseUrl: string;
  /** Tenant id → API key. */
  keys: ReadonlyMap<string, string>;
  maxInFlight: number;
  /** A label for the progress line. */
  label: string;
  /** Aborts a request that takes longer than this in all (ms). */
  timeoutMs: number;
}

export interface ReplayResult {
  results: RequestResult[];
  wallMs: number;
  maxInFlight: number;
}

const decoder = () => new TextDecoder();

interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

/** Sends one request and reads its stream to the end. */
async function send(entry: TraceEntry, index: number, scheduledAt: number, opts: ReplayOptions): Promise<RequestResult> {
  const sentAt = performance.now();
  const result: RequestResult = {
    index,
    tenant: entry.tenant,
    tier: entry.body.service_tier,
    kind: entry.kind,
    status: 0,
    origin: null,
    affinity: null,
    ttftMs: null,
    totalMs: 0,
    promptTokens: null,
    cachedTokens: null,
    completionTokens: null,
    lagMs: sentAt - scheduledAt,
    error: null,
  };
  try {
    const res = await fetch(`${opts.baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${opts.keys.get(entry.tenant)}` },
      body: JSON.stringify(entry.body),
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    result.status = res.status;
    result.origin = res.headers.get("x-router-origin");
    result.affinity = res.headers.get("x-router-affinity");
    if (res.status !== 200 || !res.body) {
      const text = await res.text();
      result.error = `HTTP ${res.status}: ${text.slice(0, 200)}`;
      return result;
    }
    const reader = res.body.getReader();
    const text = decoder();
    let buffer = "";
    let done = false;
    let usage: Usage | null = null;
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      buffer += text.decode(chunk.value, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).trimEnd();
        buffer = buffer.slice(nl + 1);
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") {
          done = true;
          continue;
        }
        const event = JSON.parse(data) as { choices?: { delta?: Delta }[]; usage?: Usage | null; error?: unknown };
        if (event.error) result.error = `stream error: ${JSON.stringify(event.error).slice(0, 200)}`;
        if (result.ttftMs === null && event.choices?.some((c) => c.delta !== undefined && isOutput(c.delta))) {
          result.ttftMs = performance.now() - sentAt;
        }
        if (event.usage) usage = event.usage;
      }
    }
    if (usage) {
      result.promptTokens = usage.prompt_tokens ?? null;
      result.completionTokens = usage.completion_tokens ?? null;
      result.cachedTokens = usage.prompt_tokens_details?.cached_tokens ?? 0;
    }
    if (!result.error && !done) result.error = "stream ended without [DONE]";
    else if (!result.error && result.promptTokens === null) result.error = "no usage chunk";
    else if (!result.error && result.ttftMs === null) result.error = "no content (neither text nor a tool call)";
  } catch (e) {
    result.error = `${(e as Error).name}: ${(e as Error).message}`;
  } finally {
    result.totalMs = performance.now() - sentAt;
  }
  return result;
}

interface Delta {
  content?: string | null;
  tool_calls?: { function?: { name?: string; arguments?: string } }[];
}

/** The first token out: text, or (the trace's agent turns declare tools) a tool call's name or arguments. */
function isOutput(delta: Delta): boolean {
  if (typeof delta.content === "string" && delta.content !== "") return true;
  return (delta.tool_calls ?? []).some((call) => Boolean(call.function?.name || call.function?.arguments));
}

/**
 * Replays `entries` (sorted by `at`) from now on. Prints a progress line to stderr while it runs.
 */
export async function replay(entries: readonly TraceEntry[], opts: ReplayOptions): Promise<ReplayResult> {
  const start = performance.now();
  const results: RequestResult[] = new Array(entries.length);
  const endAt = entries.length > 0 ? entries[entries.length - 1]!.at : 0;
  let inFlight = 0;
  let peak = 0;
  let finished = 0;
  let errors = 0;
  let sent = 0;
  const waiters: (() => void)[] = [];
  const tty = process.stderr.isTTY;
  let lastPrint = 0;
  const progress = (final = false) => {
    const now = performance.now();
    if (!final && now - lastPrint < (tty ? 250 : 5000)) return;
    lastPrint = now;
    const t = ((now - start) / 1000).toFixed(1);
    const line = `  [${opts.label}] ${t}/${(endAt / 1000).toFixed(0)} s  sent ${sent}/${entries.length}  done ${finished}  in flight ${inFlight}  errors ${errors}`;
    if (tty) process.stderr.write(`\r${line.padEnd(100)}${final ? "\n" : ""}`);
    else process.stderr.write(`${line}\n`);
  };
  const ticker = setInterval(() => progress(), 250);

  const running: Promise<void>[] = [];
  try {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const scheduledAt = start + entry.at;
      const wait = scheduledAt - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      while (inFlight >= opts.maxInFlight) await new Promise<void>((r) => waiters.push(r));
      inFlight++;
      sent++;
      peak = Math.max(peak, inFlight);
      running.push(
        send(entry, i, scheduledAt, opts).then((r) => {
          results[i] = r;
          inFlight--;
          finished++;
          if (r.error) errors++;
          waiters.shift()?.();
        }),
      );
    }
    await Promise.all(running);
  } finally {
    clearInterval(ticker);
    progress(true);
  }
  return { results, wallMs: performance.now() - start, maxInFlight: peak };
}
