/**
 * The first step of a request (DESIGN §1, admit): read and validate the body, authenticate the
 * key, and ask the tenant's ledger, in one round trip, whether the key may use the model, whether
 * its rate limits admit it, and to reserve the request's worst case against its budgets (with the
 * affinity index's hints for the prompt riding along).
 *
 * The key is judged before the body, as OpenAI does: a bad key is a 401 whatever the body says. The
 * body is still read first, so that the one round trip can reserve what this very request costs.
 * A Responses API request is made a chat request here (`responses-turn.ts`): its stored
 * conversation is read first (a second round trip, only with `previous_response_id`), so that what
 * is reserved, fingerprinted and placed is the whole prompt the origin will read.
 */
import { requestPrefix, type PrefixSource, type RequestPrefix } from "./prefix";
import { scenarioOf, scenarioServing } from "../config/origins";
import type { ScenarioConfig } from "../config/schema";
import type { PrefixIndex, PrefixMatch } from "../affinity/prefix-index";
import type { LeaseTicket } from "../lease/holder";
import type { AdmitResult, Attribution } from "../ledger/types";
import { RouterError } from "../openai/errors";
import { parseProxyRequest, type ApiEndpoint, type ProxyRequest } from "../openai/requests";
import { readJsonBody } from "../proxy/read-body";
import { utf8ByteLength } from "../lib/bytes";
import { parseBoundaryHeader, type Boundary } from "../routing/boundary";
import { attributionOf, tagsOf } from "../usage/attribution";
import { reservationFor, withOutputCap } from "../usage/reservation";
import { admitted, authenticate, type Admitted, type Caller } from "./authenticate";
import type { RequestContext } from "./context";
import { responsesTurn, type ResponsesTurn } from "./responses-turn";

/** An admitted request: who sent it, what the ledger (or a lease) granted, and what goes upstream. */
export interface Admission {
  caller: Caller;
  /** The ledger's answer, or the lease's: key, policy, output cap, rate-limit state, budgets past their soft limit. */
  grant: Admitted;
  /** Admitted under this isolate's lease (settled against it); null when the ledger admitted it. */
  ticket: LeaseTicket | null;
  /** What the client called. */
  endpoint: ApiEndpoint;
  /** The scenario the request's `model` names, restricted to the origins that serve its endpoint. */
  model: string;
  scenario: ScenarioConfig;
  /** The request as the client sent it, validated (a Responses request: the chat request it translates to). */
  request: ProxyRequest;
  /** What an origin receives: the client's body under the output cap the ledger granted. */
  upstream: ProxyRequest;
  /** A Responses API request's own state (its request, ids, storage); null for the other endpoints. */
  responses: ResponsesTurn | null;
  /** The output cap the router set (`x-router-max-tokens`), or null when the client's own stood. */
  cap: number | null;
  stream: boolean;
  /** Whether the client asked for the usage chunk of a stream itself (a Responses stream always gets usage). */
  clientWantsUsage: boolean;
  /** Size of the request body, in bytes (a Responses request: of the chat request it translates to). */
  bodyBytes: number;
  /** The request's own `x-router-boundary`, if it set one. */
  boundary: Boundary | null;
  /** Who the request is for, as it said (`user`, `metadata`, `x-router-tags`): the usage log keeps it. */
  attribution: Attribution;
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

/** What the body of a request was read as. */
interface Read {
  request: ProxyRequest;
  responses: ResponsesTurn | null;
  bytes: number;
  boundary: Boundary | null;
  tags: string[];
}

/** Reads and validates the body (a Responses request is translated, its stored conversation read). */
async function readRequest(ctx: RequestContext, caller: Caller, endpoint: ApiEndpoint): Promise<Read> {
  const { value, bytes } = await readJsonBody(ctx.request, ctx.config.limits.maxBodyBytes);
  const boundary = requestBoundary(ctx.request.headers.get("x-router-boundary"));
  const tags = tagsOf(ctx.request.headers.get("x-router-tags"));
  if (endpoint !== "responses") return { request: parseProxyRequest(endpoint, value), responses: null, bytes, boundary, tags };
  const { turn, chat } = await responsesTurn(ctx, caller, value, bytes);
  // Its size is the chat request's, stored conversation included: what the origin reads, what
  // placement weighs and what an answer without usage is estimated from.
  return { request: { endpoint: "chat", body: chat }, responses: turn, bytes: utf8ByteLength(JSON.stringify(chat)), boundary, tags };
}

/** What a prompt's prefix is fingerprinted from: chat's messages, or a legacy completion's single string prompt. */
function prefixSource(request: ProxyRequest): PrefixSource | null {
  if (request.endpoint === "chat") return request.body;
  if (request.endpoint === "completions" && typeof request.body.prompt === "string") {
    // A role no chat template has: a legacy prompt never matches a chat prompt's rendering.
    return { messages: [{ role: "prompt", content: request.body.prompt }], user: request.body.user };
  }
  return null;
}

/** The path a model is served at, for a request sent to the other one. */
const SERVED_AT = { chat: "/v1/chat/completions", embeddings: "/v1/embeddings" } as const;

/** Reads, validates, authenticates and admits a request to `endpoint`; throws the failure the client gets. */
export async function admit(ctx: RequestContext, endpoint: ApiEndpoint): Promise<Admission> {
  const { config, startedAt, isolate } = ctx;
  const caller = await authenticate(ctx);

  let read: Read | undefined;
  let bodyError: unknown;
  try {
    read = await readRequest(ctx, caller, endpoint);
  } catch (e) {
    bodyError = e;
  }
  const model = read?.request.body.model ?? null;
  const named = model === null ? undefined : scenarioOf(config, model);
  const scenario = named && read ? scenarioServing(config, named, read.request.endpoint) : null;
  const servable = read !== undefined && scenario !== null;
  const reserve = servable ? reservationFor(config, model!, scenario, read!.request, endpoint, startedAt) : null;
  const source = servable ? prefixSource(read!.request) : null;
  const prefix = source ? requestPrefix(config, model!, scenario!, source) : null;

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
    const sent = isolate.clock.now();
    try {
      result = await caller.ledger.admit({ key: caller.key, requestId: ctx.requestId, at: startedAt, model, reserve, prefix: prefix?.lookup ?? null, ...(want ? { lease: want } : {}) });
      // The ledger's round trip tells the lease holder how early to renew.
      leases?.noteRoundTrip(isolate.clock.now() - sent);
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
  if (!named) throw new RouterError({ kind: "model_not_found", model: model! });
  if (!scenario) {
    const message =
      named.endpoint === "embeddings" || read.request.endpoint === "embeddings"
        ? `The model \`${model}\` is served at ${SERVED_AT[named.endpoint]}.`
        : `The model \`${model}\` has no origin that serves /v1/completions.`;
    throw new RouterError({ kind: "invalid_body", message, param: "model" });
  }

  const { request } = read;
  const capped = withOutputCap(request, grant.outputCap);
  const streamed = request.endpoint === "embeddings" ? null : request.body;
  const stream = streamed?.stream === true;
  return {
    caller,
    grant,
    ticket,
    endpoint,
    model: model!,
    scenario,
    request,
    upstream: capped.request,
    responses: read.responses,
    cap: capped.cap,
    stream,
    clientWantsUsage: stream && streamed?.stream_options?.include_usage === true,
    bodyBytes: read.bytes,
    boundary: read.boundary,
    // A Responses request's `user` and `metadata` are its own (the translation consumes `metadata`).
    attribution: attributionOf(read.responses?.request ?? request.body, read.tags),
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
