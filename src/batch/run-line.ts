/**
 * Running one batch line through the router's own request path, as a request of the batch class
 * (`x-priority: batch`) from the key that created the batch, in two halves: `admitLine` (the
 * tenant's ledger: policy, rate limits, a reservation against its budgets; a batch reserves what it
 * runs, not the whole file) and `runAdmitted` (the request path's own `place`, `send` and `finish`:
 * placed by `decide()`, forwarded with fallback, answered as a direct request would be, quality gates,
 * health, decision log and shadow included). What a run returns is the line's output or error line
 * and what settles it: its settlement is kept rather than sent, and the batch object writes the line
 * before it settles it, so a crash at any point runs the line again under the same request id and
 * the ledger charges it once (see schema.ts).
 */
import type { Isolate } from "../isolate";
import type { RouterEnv } from "../env";
import type { RouterConfig, ScenarioConfig } from "../config/schema";
import { scenarioOf, scenarioServing } from "../config/origins";
import type { TenantLedger } from "../ledger/tenant-ledger";
import type { AdmitResult, LineAdmitResult } from "../ledger/types";
import { utf8ByteLength } from "../lib/bytes";
import { describeFailure, RouterError, type RouterFailure } from "../openai/errors";
import { parseProxyRequest, type ProxyRequest } from "../openai/requests";
import { RequestLog } from "../observe/request-log";
import type { Admission } from "../request/admit";
import { admitted, type Admitted, type Caller } from "../request/authenticate";
import type { RequestContext } from "../request/context";
import { Departure } from "../request/departure";
import { finish } from "../request/finish";
import { placer } from "../request/place";
import { requestPrefix, type RequestPrefix } from "../request/prefix";
import { send } from "../request/send";
import { Settlement } from "../request/settlement";
import { attributionOf } from "../usage/attribution";
import type { SettleItem } from "../usage/settle-batcher";
import { requestedOutputCap, reservationFor, withOutputCap } from "../usage/reservation";
import { BATCH_ENDPOINTS, type BatchUrl } from "./input";
import { responseLine } from "./objects";

/** What running a tenant's lines needs. */
export interface LineDeps {
  env: RouterEnv;
  isolate: Isolate;
  config: RouterConfig;
  tenantId: string;
  /** The key that created the batch: its lines are its requests. */
  keyId: string;
  ledger: DurableObjectStub<TenantLedger>;
  waitUntil(promise: Promise<unknown>): void;
}

/** One line to run. */
export interface LineToRun {
  customId: string;
  url: BatchUrl;
  model: string;
  /** The input line as uploaded. */
  text: string;
  /** Its request id: its usage row's, the same on every run of the line. */
  requestId: string;
}

/** Tokens a line used (its settlement's), for the batch's `usage`. */
export interface LineUsage {
  input: number;
  cached: number;
  output: number;
}

export type LineOutcome =
  /** Answered (`output`) or refused or failed (`error`): its line of the file, and what settles it (null when nothing was reserved). */
  | { kind: "done"; resultKind: "output" | "error"; result: string; settle: SettleItem | null; usage: LineUsage }
  /** Not run now (a rate limit): run it from `until`. */
  | { kind: "defer"; until: number; reason: string }
  /** The key is refused or a budget cannot cover it: this line and every one not yet run end with this answer. */
  | { kind: "stop"; statusCode: number; body: string };

const NO_USAGE: LineUsage = { input: 0, cached: 0, output: 0 };

/** An error line with the answer a direct request would have had, nothing reserved for it. */
function errorLine(line: LineToRun, failure: RouterFailure): LineOutcome {
  const { status, body } = describeFailure(failure);
  return { kind: "done", resultKind: "error", result: responseLine(line.customId, line.requestId, status, JSON.stringify(body)), settle: null, usage: NO_USAGE };
}

/** The failure a refused admission answers a direct request with (see `admitted`). */
function refusal(result: Extract<AdmitResult, { ok: false }>, model: string, now: number): RouterFailure {
  try {
    admitted(result, model, { refused: () => {} }, now);
  } catch (e) {
    if (e instanceof RouterError) return e.failure;
    throw e;
  }
  throw new Error("a refused admission was admitted");
}

/** A line's request, typed, and the scenario its model names; or the failure that ends the line. */
export function readLine(config: RouterConfig, line: LineToRun): { request: ProxyRequest; scenario: ScenarioConfig } | { failure: RouterFailure } {
  const endpoint = BATCH_ENDPOINTS[line.url];
  let request: ProxyRequest;
  try {
    // Validated at upload; read again typed (a line the config's limits no longer take fails alone).
    request = parseProxyRequest(endpoint, (JSON.parse(line.text) as { body: unknown }).body);
  } catch (e) {
    if (e instanceof RouterError) return { failure: e.failure };
    throw e;
  }
  const named = scenarioOf(config, line.model);
  const scenario = named ? scenarioServing(config, named, endpoint) : null;
  if (!scenario) return { failure: { kind: "model_not_found", model: line.model } };
  return { request, scenario };
}

/** What the request path sees of a line admitted under `grant`: its request context and its admission. */
export function lineRequest(
  deps: LineDeps,
  line: LineToRun,
  read: { request: ProxyRequest; scenario: ScenarioConfig },
  grant: Admitted,
  cap: number | null,
  prefix: RequestPrefix | null,
  now: number,
): { ctx: RequestContext; admission: Admission } {
  const { isolate, tenantId } = deps;
  const { request, scenario } = read;
  const arrivedAt = Date.now();
  // What the request path reads of a client's request: its class (a batch line is always of the
  // batch class) and a signal that never fires (no client waits on a connection).
  const client = new Request(`https://batch.invalid${line.url}`, { method: "POST", headers: { "x-priority": "batch" } });
  const ctx: RequestContext = {
    requestId: line.requestId,
    startedAt: now,
    arrivedAt,
    request: client,
    client: new Departure(client.signal),
    env: deps.env,
    isolate,
    config: deps.config,
    waitUntil: (promise) => {
      if (promise) deps.waitUntil(promise);
    },
    log: new RequestLog({ requestId: line.requestId, method: "POST", path: line.url, arrivedAt }, { metrics: isolate.metrics, analytics: deps.env.REQUEST_ANALYTICS }),
  };
  const caller: Caller = { key: "", tenantId, ledger: isolate.ledger(tenantId), stub: deps.ledger, refused: () => {} };
  const capped = withOutputCap(request, cap);
  const admission: Admission = {
    caller,
    grant,
    ticket: null,
    endpoint: request.endpoint,
    model: line.model,
    scenario,
    request,
    upstream: capped.request,
    responses: null,
    cap: capped.cap,
    stream: false,
    clientWantsUsage: false,
    bodyBytes: utf8ByteLength(JSON.stringify(request.body)),
    boundary: null,
    attribution: attributionOf(request.body, []),
    prefix,
    matches: grant.prefixMatches ?? {},
  };
  return { ctx, admission };
}

/** A line the ledger admitted, and what running it needs. */
export interface AdmittedLine {
  line: LineToRun;
  read: { request: ProxyRequest; scenario: ScenarioConfig };
  grant: Admitted;
  /** The output cap to impose upstream, or null. */
  cap: number | null;
  prefix: RequestPrefix | null;
}

/**
 * The first half of a line's run: its admission by the ledger, at `now` (the router's clock). A
 * round of lines is admitted one after the other, in order, so that which lines a budget or a rate
 * limit lets through never depends on how concurrent calls raced; throws only when the ledger
 * cannot be reached.
 */
export async function admitLine(deps: LineDeps, line: LineToRun, now: number): Promise<{ kind: "admitted"; admitted: AdmittedLine } | LineOutcome> {
  const { config } = deps;
  const read = readLine(config, line);
  if ("failure" in read) return errorLine(line, read.failure);
  const { request, scenario } = read;
  const reserve = reservationFor(config, line.model, scenario, request, request.endpoint, now);
  const prefix = request.endpoint === "chat" ? requestPrefix(config, line.model, scenario, request.body) : null;
  const ask = (withReserve: boolean) =>
    deps.ledger.admitLine({ keyId: deps.keyId, requestId: line.requestId, at: now, model: line.model, reserve: withReserve ? reserve : null, prefix: prefix?.lookup ?? null }) as Promise<LineAdmitResult>;
  let result = await ask(true);
  let cap: number | null = result.ok ? result.outputCap : null;
  if (!result.ok && result.reason === "already_settled") {
    // Its reservation was charged in full by the ledger's alarm (a crash outlasted its hold): the
    // line runs again at no further charge, within the scenario's cap.
    result = await ask(false);
    cap = requestedOutputCap(request) ?? scenario.maxOutputTokens;
  }
  if (!result.ok) {
    if (result.reason === "already_settled") throw new Error(`line ${line.requestId}: settled twice over`);
    if (result.reason === "rate_limited") return { kind: "defer", until: now + Math.max(1_000, result.retryAfterMs), reason: `rate limited (${result.dimension})` };
    const failure = refusal(result, line.model, now);
    if (result.reason === "model_not_allowed") return errorLine(line, failure);
    const { status, body } = describeFailure(failure);
    return { kind: "stop", statusCode: status, body: JSON.stringify(body) };
  }
  return { kind: "admitted", admitted: { line, read, grant: result, cap, prefix } };
}

/**
 * The second half of a line's run: the request path's `place` (one decision, no wait), `send` and
 * `finish`, whose answer becomes the line's output line (2xx) or error line; its settlement is kept
 * for the batch object to settle once the line is written.
 */
export async function runAdmitted(deps: LineDeps, admitted: AdmittedLine, now: number): Promise<LineOutcome> {
  const { line, read, grant, cap, prefix } = admitted;
  const { ctx, admission } = lineRequest(deps, line, read, grant, cap, prefix, now);
  let kept: SettleItem | null = null;
  const settlement = new Settlement(ctx, admission, async (item) => {
    kept = item;
  });
  let response: Response;
  try {
    const placement = placer(ctx, admission)(now);
    response = await finish(ctx, admission, placement, settlement, await send(ctx, admission, placement, settlement));
  } catch (e) {
    // A failure inside the router: the 500 a direct request gets, nothing charged, nothing held.
    console.error(`batch line ${line.requestId}: the request path failed`, e);
    settlement.failed();
    const { status, body } = describeFailure({ kind: "internal" });
    response = new Response(JSON.stringify(body), { status });
  }
  const text = await response.text();
  const settle = kept as SettleItem | null;
  const usage = settle ? { input: settle.request.promptTokens, cached: settle.request.cachedTokens, output: settle.request.completionTokens } : NO_USAGE;
  const ok = response.status >= 200 && response.status < 300;
  return { kind: "done", resultKind: ok ? "output" : "error", result: responseLine(line.customId, line.requestId, response.status, text), settle, usage };
}
