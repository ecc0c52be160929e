/**
 * The first step of a request (DESIGN §1, admit): read and validate the body, authenticate the
 * key, and ask the tenant's ledger, in one round trip, whether the key may use the model, whether
 * its rate limits admit it, and to reserve the request's worst case against its budgets (with the
 * affinity index's hints for the prompt riding along).
 *
 * The key is judged before the body, as OpenAI does: a bad key is a 401 whatever the body says. The
 * body is still read first, so that the one round trip can reserve what this very request costs.
 */
import { requestPrefix, type RequestPrefix } from "./prefix";
import { scenarioOf } from "../config/origins";
import type { ScenarioConfig } from "../config/schema";
import type { PrefixIndex, PrefixMatch } from "../affinity/prefix-index";
import type { LeaseTicket } from "../lease/holder";
import type { AdmitResult } from "../ledger/types";
import { RouterError } from "../openai/errors";
import { parseProxyRequest, type ProxyRequest } from "../openai/requests";
import { readJsonBody } from "../proxy/read-body";
import { parseBoundaryHeader, type Boundary } from "../routing/boundary";
import { reservationFor, withOutputCap } from "../usage/reservation";
import { admitted, authenticate, type Admitted, type Caller } from "./authenticate";
import type { RequestContext } from "./context";

/** An admitted request: who sent it, what the ledger (or a lease) granted, and what goes upstream. */
export interface Admission {
  caller: Caller;
  /** The ledger's answer, or the lease's: key, policy, output cap, rate-limit state, budgets past their soft limit. */
  grant: Admitted;
  /** Admitted under this isolate's lease (settled against it); null when the ledger admitted it. */
  ticket: LeaseTicket | null;
  /** The scenario the request's `model` names. */
  model: string;
  scenario: ScenarioConfig;
  /** The request as the client sent it, validated. */
  request: ProxyRequest;
  /** What an origin receives: the client's body under the output cap the ledger granted. */
  upstream: ProxyRequest;
  /** The output cap the router set (`x-router-max-tokens`), or null when the client's own stood. */
  cap: number | null;
  stream: boolean;
  /** Whether the client asked for the usage chunk of a stream itself. */
  clientWantsUsage: boolean;
  /** Size of the request body, in bytes. */
  bodyBytes: number;
  /** The request's own `x-router-boundary`, if it set one. */
  boundary: Boundary | null;
  /** The prompt's fingerprint (chat), and what the ledger's index matched of it. */
  prefix: RequestPrefix | null;
  matches: Readonly<Record<string, PrefixMatch>>;
}

/** The request's own `x-router-boundary`, or the 400 it deserves. */
function requestBoundary(header: string | null): Boundary | null {
  const parsed = parseBoundaryHeader(header);
  if (parsed !== null && "error" in parsed) {
    throw new RouterError({ kind: "invalid_body", message: `Invalid x-router-boundary header: ${parsed.error}.`, param: null });
  }
  return parsed;
}

/** Reads, validates, authenticates and admits a request to `endpoint`; throws the failure the client gets. */
export async function admit(ctx: RequestContext, endpoint: ProxyRequest["endpoint"]): Promise<Admission> {
  const { config, startedAt, isolate } = ctx;
  const caller = await authenticate(ctx);

  let read: { request: ProxyRequest; bytes: number; boundary: Boundary | null } | undefined;
  let bodyError: unknown;
  try {
    const { value, bytes } = await readJsonBody(ctx.request, config.limits.maxBodyBytes);
    read = { request: parseProxyRequest(endpoint, value), bytes, boundary: requestBoundary(ctx.request.headers.get("x-router-boundary")) };
  } catch (e) {
    bodyError = e;
  }
  const model = read?.request.body.model ?? null;
  const scenario = model === null ? undefined : scenarioOf(config, model);
  const servable = read !== undefined && scenario !== undefined && scenario.endpoint === endpoint;
  const reserve = servable ? reservationFor(config, model!, scenario, read!.request, startedAt) : null;
  const prefix = servable && read!.request.endpoint === "chat" ? requestPrefix(config, model!, scenario, read!.request.body) : null;

  // Admitted here, under this isolate's lease, when one covers it; else by the ledger, which then
  // grants the lease for the requests after it on the same round trip.
  const leases = config.leases.enabled ? isolate.leases : null;
  const local = leases && reserve ? leases.admit(caller.key, model, reserve, startedAt) : { kind: "exact" as const };
  if (local.kind === "model_not_allowed") throw new RouterError({ kind: "model_not_found", model: model ?? "" });
  let grant: Admitted;
  let ticket: LeaseTicket | null = null;
  let matches: Readonly<Record<string, PrefixMatch>> = {};
  if (local.kind === "admitted") {
    grant = local.admission;
    ticket = local.ticket;
    if (prefix?.lookup) matches = await localMatches(ctx, caller, prefix);
  } else {
    const want = leases && reserve ? leases.wantWithAdmission(caller.key, reserve, startedAt) : undefined;
    let result: AdmitResult;
    try {
      result = await caller.ledger.admit({ key: caller.key, requestId: ctx.requestId, at: startedAt, model, reserve, prefix: prefix?.lookup ?? null, ...(want ? { lease: want } : {}) });
    } finally {
      if (want) leases!.answered(caller.key);
    }
    grant = admitted(result, model, caller, isolate.clock.now());
    if (leases && reserve) leases.noteExact(caller.key, reserve);
    if (leases && grant.lease?.ok) leases.install(caller.key, () => isolate.ledger(caller.tenantId), grant.lease.lease);
    matches = grant.prefixMatches ?? {};
    if (prefix?.lookup) rememberMatches(isolate.prefixIndex(grant.tenantId), prefix.lookup.chain, matches);
  }
  if (leases) {
    leases.renew(caller.key, startedAt);
    for (const work of leases.drain()) ctx.waitUntil(work);
  }
  if (read === undefined) throw bodyError;
  if (!scenario) throw new RouterError({ kind: "model_not_found", model: model! });
  if (!servable) {
    const other = scenario.endpoint === "chat" ? "/v1/chat/completions" : "/v1/embeddings";
    throw new RouterError({ kind: "invalid_body", message: `The model \`${model}\` is served at ${other}.`, param: "model" });
  }

  const { request } = read;
  const capped = request.endpoint === "chat" ? withOutputCap(request.body, grant.outputCap) : null;
  const upstream: ProxyRequest = capped ? { endpoint: "chat", body: capped.body } : request;
  const chat = request.endpoint === "chat" ? request.body : null;
  const stream = chat?.stream === true;
  return {
    caller,
    grant,
    ticket,
    model: model!,
    scenario,
    request,
    upstream,
    cap: capped?.cap ?? null,
    stream,
    clientWantsUsage: stream && chat?.stream_options?.include_usage === true,
    bodyBytes: read.bytes,
    boundary: read.boundary,
    prefix,
    matches,
  };
}

/** A prompt this short is placed from what the isolate knows, never worth a round trip. */
const LONG_PROMPT_TOKENS = 1_024;

/**
 * The prefix matches of a request admitted under a lease: from this isolate's copy of the tenant's
 * index; only a long prompt the copy knows nothing of asks the ledger's index (a counted call).
 */
async function localMatches(ctx: RequestContext, caller: Caller, prefix: RequestPrefix): Promise<Readonly<Record<string, PrefixMatch>>> {
  const lookup = prefix.lookup!;
  const index = ctx.isolate.prefixIndex(caller.tenantId);
  const known = index.lookup(lookup, ctx.startedAt);
  if (Object.keys(known).length > 0 || prefix.fp.promptTokens < LONG_PROMPT_TOKENS) return known;
  const fetched = await caller.ledger.lookupPrefix(lookup, ctx.startedAt);
  rememberMatches(index, lookup.chain, fetched);
  return fetched;
}

/** Keeps what the ledger's index matched in this isolate's copy. */
function rememberMatches(index: PrefixIndex, chain: readonly number[], matches: Readonly<Record<string, PrefixMatch>>): void {
  for (const [origin, match] of Object.entries(matches)) index.remember(chain, origin, match.blocks, match.seenAt);
}
