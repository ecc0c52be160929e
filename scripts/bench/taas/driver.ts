/**
 * Replays the day open loop: each request leaves when the virtual clock reaches its arrival time,
 * whatever happened to the others (slow origins do not slow users down), under a high bound on
 * requests in flight. Each tenant uses its own key; every request asks `x-router-explain: 1`, so
 * the router's decision for it (every candidate's score terms, or the rule that excluded it) comes
 * back in `x-router-decision` and is kept with the outcome: what a MISS is read off.
 *
 * Per request: status and error code, serving origin and every attempt (`x-router-attempts`), the
 * router's request id (it keys the usage log), the client's TTFT (from just before `fetch` to the
 * first non-empty content delta, real ms), the usage chunk, and when it ended in virtual time.
 */
import { realAt, virtualAt, type DayClock } from "./clock";
import type { RequestClass } from "./tenants";
import type { TraceEntry } from "./trace";

export interface Attempt {
  origin: string;
  /** `200`, an HTTP status, or a failure kind (`timeout`, `connect`, ...). */
  result: string;
  ms: number;
}

/** One candidate of the router's decision, as `x-router-decision` explains it (numbers rounded). */
export interface CandidateView {
  origin: string;
  excluded: string | null;
  detail: string | null;
  demoted: string | null;
  ttftMs: number | null;
  ttftSource: string | null;
  cv: number | null;
  errorRate: number | null;
  load: number | null;
  priceMicros: number | null;
  score: number | null;
}

export interface DecisionView {
  /** The router's clock when it decided (virtual ms since the epoch: it follows BENCH_CLOCK). */
  at: number;
  priority: string;
  budgetPressure: number;
  waitReason: string | null;
  candidates: CandidateView[];
}

export type OutcomeKind = "ok" | "refused" | "error";

export interface Outcome {
  id: number;
  tenant: string;
  cls: RequestClass;
  /** Virtual ms from the day's start: when it was due, sent, and finished. */
  at: number;
  sentAt: number;
  doneAt: number;
  deadline: number | null;
  kind: OutcomeKind;
  status: number;
  /** The OpenAI error code of a refusal or failure (`insufficient_quota`, `no_origin_available`, ...). */
  code: string | null;
  error: string | null;
  requestId: string | null;
  origin: string | null;
  attempts: Attempt[];
  decision: DecisionView | null;
  budgetWarning: string | null;
  /** Real ms. */
  ttftMs: number | null;
  totalMs: number;
  lagMs: number;
  promptTokens: number | null;
  cachedTokens: number | null;
  completionTokens: number | null;
}

export interface ReplayOptions {
  baseUrl: string;
  keys: ReadonlyMap<string, string>;
  clock: DayClock;
  maxInFlight: number;
  timeoutMs: number;
  label: string;
}

interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

const round = (v: unknown, digits = 3): number | null => (typeof v === "number" && Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : null);

/** `x-router-attempts: pool;result=503;ms=1, maas-lowcost;result=200;ms=214`. */
export function parseAttempts(header: string | null): Attempt[] {
  if (!header) return [];
  return header
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [origin = "", ...fields] = part.split(";");
      const field = (name: string) => fields.find((f) => f.startsWith(`${name}=`))?.slice(name.length + 1) ?? "";
      return { origin, result: field("result"), ms: Number(field("ms")) || 0 };
    });
}

interface RawCandidate {
  origin?: string;
  excluded?: { rule?: string; detail?: string } | null;
  demoted?: string | null;
  terms?: Record<string, unknown> | null;
}

/** The explanation of `x-router-decision`, reduced to what the report reads. */
export function parseDecision(header: string | null): DecisionView | null {
  if (!header) return null;
  try {
    const raw = JSON.parse(header) as { at?: number; priority?: string; budgetPressure?: number; waitReason?: string | null; candidates?: RawCandidate[] };
    return {
      at: raw.at ?? 0,
      priority: raw.priority ?? "",
      budgetPressure: round(raw.budgetPressure) ?? 0,
      waitReason: raw.waitReason ?? null,
      candidates: (raw.candidates ?? []).map((c) => ({
        origin: c.origin ?? "",
        excluded: c.excluded?.rule ?? null,
        detail: c.excluded?.detail ?? null,
        demoted: c.demoted ?? null,
        ttftMs: typeof c.terms?.ttftMs === "number" ? Math.round(c.terms.ttftMs) : null,
        ttftSource: typeof c.terms?.ttftSource === "string" ? c.terms.ttftSource : null,
        cv: round(c.terms?.cv),
        errorRate: round(c.terms?.errorRate),
        load: round(c.terms?.load),
        priceMicros: round(c.terms?.priceMicros, 0),
        score: round(c.terms?.score),
      })),
    };
  } catch {
    return null;
  }
}

/** Sends one request and reads its stream to the end. */
async function send(entry: TraceEntry, opts: ReplayOptions, dueReal: number): Promise<Outcome> {
  const { clock } = opts;
  const sentReal = Date.now();
  const sentPerf = performance.now();
  const dayStart = clock.epochMs;
  const out: Outcome = {
    id: entry.id,
    tenant: entry.tenant,
    cls: entry.cls,
    at: entry.at,
    sentAt: Math.round(virtualAt(clock, sentReal) - dayStart),
    doneAt: 0,
    deadline: entry.deadline,
    kind: "error",
    status: 0,
    code: null,
    error: null,
    requestId: null,
    origin: null,
    attempts: [],
    decision: null,
    budgetWarning: null,
    ttftMs: null,
    totalMs: 0,
    lagMs: sentReal - dueReal,
    promptTokens: null,
    cachedTokens: null,
    completionTokens: null,
  };
  try {
    const res = await fetch(`${opts.baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${opts.keys.get(entry.tenant)}`, "x-router-explain": "1" },
      body: JSON.stringify(entry.body),
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    out.status = res.status;
    out.requestId = res.headers.get("x-request-id");
    out.origin = res.headers.get("x-router-origin");
    out.attempts = parseAttempts(res.headers.get("x-router-attempts"));
    out.decision = parseDecision(res.headers.get("x-router-decision"));
    out.budgetWarning = res.headers.get("x-router-budget-warning");
    if (res.status !== 200 || !res.body) {
      const text = await res.text();
      let code: string | null = null;
      try {
        code = (JSON.parse(text) as { error?: { code?: string | null } }).error?.code ?? null;
      } catch {
        // not an OpenAI error body
      }
      out.code = code;
      out.kind = res.status === 429 && code === "insufficient_quota" ? "refused" : "error";
      out.error = `HTTP ${res.status}${code ? ` ${code}` : ""}: ${text.slice(0, 160)}`;
      return out;
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let done = false;
    let usage: Usage | null = null;
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
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
        const event = JSON.parse(data) as { choices?: { delta?: { content?: string | null } }[]; usage?: Usage | null; error?: unknown };
        if (event.error) out.error = `stream error: ${JSON.stringify(event.error).slice(0, 160)}`;
        if (out.ttftMs === null && event.choices?.some((c) => typeof c.delta?.content === "string" && c.delta.content !== "")) {
          out.ttftMs = performance.now() - sentPerf;
        }
        if (event.usage) usage = event.usage;
      }
    }
    if (usage) {
      out.promptTokens = usage.prompt_tokens ?? null;
      out.completionTokens = usage.completion_tokens ?? null;
      out.cachedTokens = usage.prompt_tokens_details?.cached_tokens ?? 0;
    }
    if (!out.error && !done) out.error = "stream ended without [DONE]";
    else if (!out.error && out.promptTokens === null) out.error = "no usage chunk";
    else if (!out.error && out.ttftMs === null) out.error = "no content";
    if (!out.error) out.kind = "ok";
  } catch (e) {
    out.error = `${(e as Error).name}: ${(e as Error).message}`;
  } finally {
    out.totalMs = performance.now() - sentPerf;
    out.doneAt = Math.round(virtualAt(clock, Date.now()) - dayStart);
  }
  return out;
}

/** Replays the trace from the clock's start (waiting for it); progress goes to stderr. */
export async function replay(entries: readonly TraceEntry[], opts: ReplayOptions): Promise<{ outcomes: Outcome[]; maxInFlight: number }> {
  const { clock } = opts;
  const outcomes: Outcome[] = new Array(entries.length);
  let inFlight = 0;
  let peak = 0;
  let finished = 0;
  let errors = 0;
  const waiters: (() => void)[] = [];
  const tty = process.stderr.isTTY;
  let lastPrint = 0;
  const progress = (final = false) => {
    const now = Date.now();
    if (!final && now - lastPrint < (tty ? 250 : 5000)) return;
    lastPrint = now;
    const hour = Math.max(0, (virtualAt(clock, now) - clock.epochMs) / 3_600_000);
    const line = `  [${opts.label}] ${hour.toFixed(1).padStart(4)} h  done ${finished}/${entries.length}  in flight ${inFlight}  errors ${errors}`;
    process.stderr.write(tty ? `\r${line.padEnd(90)}${final ? "\n" : ""}` : `${line}\n`);
  };
  const ticker = setInterval(() => progress(), 250);
  const running: Promise<void>[] = [];
  try {
    for (const entry of entries) {
      const due = realAt(clock, clock.epochMs + entry.at);
      const wait = due - Date.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      while (inFlight >= opts.maxInFlight) await new Promise<void>((r) => waiters.push(r));
      inFlight++;
      peak = Math.max(peak, inFlight);
      running.push(
        send(entry, opts, due).then((o) => {
          outcomes[entry.id] = o;
          inFlight--;
          finished++;
          if (o.kind === "error") errors++;
          waiters.shift()?.();
        }),
      );
    }
    await Promise.all(running);
  } finally {
    clearInterval(ticker);
    progress(true);
  }
  return { outcomes, maxInFlight: peak };
}
