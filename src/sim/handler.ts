/**
 * The simulator's front door: a Web-standard `fetch` handler (no Node APIs, so it runs in Node and
 * in workerd alike) that records each request, routes it to an origin and an endpoint, checks the
 * origin's API key, and applies the faults the request asked for.
 *
 * URL scheme:
 *   POST /<origin>/v1/chat/completions   GET /<origin>/v1/models
 *   POST /<origin>/v1/embeddings         POST /<origin>/v1/completions
 *   POST /<origin>/v1/responses          (profiles that serve it: `PROFILE_SPECS`)
 *   GET /_sim/health   GET /_sim/requests/<x-request-id>   GET /_sim/stats   POST /_sim/reset
 */
import { handleChat } from "./chat";
import { handleCompletions } from "./completions";
import type { OriginState, RequestContext } from "./context";
import { dayEffect, DayStats, requestDraws, type DayCounts } from "./day-profile";
import { handleEmbeddings } from "./embeddings";
import { errorResponse } from "./errors";
import { faultStatusResponse, garbageResponse, redirectResponse, selectFault, withNestedField, withQuotedAuthorization } from "./faults";
import { MAX_JSON_DEPTH } from "../lib/json-depth";
import { parseJsonBody } from "./json-body";
import { handleModels } from "./models";
import { SimOptionsSchema, type SimOptions } from "./options";
import { PrefillQueue } from "./prefill-queue";
import { PROFILE_SPECS } from "./profiles";
import { PrefixCache } from "./prefix-cache";
import { RequestRecorder } from "./recorder";
import { handleResponses } from "./responses";
import { OriginStats, type OriginStatsSnapshot } from "./stats";
import { sleep } from "./timing";
import { virtualNow } from "./virtual-clock";

/** A running simulator: one `fetch` serving every origin. */
export interface Simulator {
  /** Serves one request; response bodies may keep streaming after this resolves. */
  fetch(request: Request): Promise<Response>;
}

/** What the host environment may replace; everything is optional. */
export interface SimulatorHooks {
  /**
   * The clock, ms since the epoch (default `Date.now`). It places requests in the prefill queue and
   * dates responses and records; delays still run on real timers. A test that fixes it makes every
   * request arrive at the same instant, so queue waits come out exact.
   */
  now?: () => number;
}

/** `GET /_sim/stats`: every origin's counters, in configuration order. */
export interface SimStats {
  origins: Record<string, OriginStatsSnapshot>;
  /** What each origin's day profile did (only origins that have one). */
  day?: Record<string, DayCounts>;
}

/** The simulator's mutable state, as the control endpoints see it. */
interface SimState {
  origins: Map<string, OriginState>;
  recorder: RequestRecorder;
  /** Day-profile counters of the origins that have a profile. */
  day: Map<string, DayStats>;
}

type Endpoint = "chat" | "completions" | "embeddings" | "models" | "responses";

/** Endpoint paths under `/<origin>/v1/`, with the one method each accepts. */
const ENDPOINTS: Readonly<Record<string, { endpoint: Endpoint; method: string }>> = {
  "chat/completions": { endpoint: "chat", method: "POST" },
  completions: { endpoint: "completions", method: "POST" },
  embeddings: { endpoint: "embeddings", method: "POST" },
  models: { endpoint: "models", method: "GET" },
  responses: { endpoint: "responses", method: "POST" },
};

/**
 * Creates a simulator. Options are validated (and defaulted) here; invalid options throw.
 * @example
 * const sim = createSimulator({ origins: { alpha: { profile: "openai" } } });
 * const res = await sim.fetch(new Request("http://sim/alpha/v1/models"));
 */
export function createSimulator(options: SimOptions, hooks: SimulatorHooks = {}): Simulator {
  const resolved = SimOptionsSchema.parse(options);
  const now = hooks.now ?? Date.now;
  const origins = new Map<string, OriginState>(
    Object.entries(resolved.origins).map(([name, config]) => [
      name,
      {
        name,
        config,
        cache: new PrefixCache(config.cacheBlocks),
        queue: new PrefillQueue(config.prefillSlots),
        stats: new OriginStats(),
      },
    ]),
  );
  const recorder = new RequestRecorder(resolved.recordLimit);
  const day = new Map<string, DayStats>();
  for (const [name, o] of origins) if (o.config.dayProfile) day.set(name, new DayStats());
  const state: SimState = { origins, recorder, day };
  let seq = 0;
  const nextSeq = (): number => ++seq;

  async function serve(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const segments = url.pathname.split("/").slice(1).map(safeDecode);
    if (segments[0] === "_sim") return control(request, segments.slice(1), state);

    const originName = segments[0] ?? "";
    const text = request.method === "GET" || request.method === "HEAD" ? "" : await request.text();
    const parsed = parseJsonBody(text);
    // A body nested too deep is not kept: serving its record would recurse as deep as it does.
    const body = parsed.kind === "ok" ? parsed.value : null;
    recorder.record({
      origin: originName,
      method: request.method,
      path: url.pathname + url.search,
      headers: Object.fromEntries(request.headers),
      body,
      at: now(),
    });

    const origin = origins.get(originName);
    if (!origin) return notFound(`Unknown origin '${originName}'.`);
    const route = segments[1] === "v1" ? ENDPOINTS[segments.slice(2).join("/")] : undefined;
    if (!route || (route.endpoint === "responses" && !PROFILE_SPECS[origin.config.profile].responses)) return notFound(`Unknown path '${url.pathname}'.`);
    if (request.method !== route.method) {
      return errorResponse({
        status: 405,
        message: `Method ${request.method} is not allowed here; use ${route.method}.`,
        headers: { allow: route.method },
      });
    }
    if (origin.config.apiKey !== undefined && request.headers.get("authorization") !== `Bearer ${origin.config.apiKey}`) {
      return errorResponse({
        status: 401,
        message: "Incorrect API key provided.",
        code: "invalid_api_key",
      });
    }
    if (route.endpoint === "models") return handleModels(origin);

    if (parsed.kind === "too_deep") {
      return errorResponse({
        status: 400,
        message: `The JSON body of your request nests deeper than ${MAX_JSON_DEPTH} levels.`,
        param: parsed.param,
      });
    }
    if (body === null) {
      return errorResponse({ status: 400, message: "We could not parse the JSON body of your request." });
    }
    const selection = selectFault(body, origin.name);
    if (!selection.ok) return errorResponse({ status: 400, message: selection.message, param: "sim" });
    let fault = withQuotedAuthorization(selection.fault, request.headers.get("authorization"));
    // The origin's hour of the day, unless the request asked for its own fault.
    const profile = origin.config.dayProfile;
    if (profile && fault === undefined && route.endpoint === "chat") {
      const messages = typeof body === "object" && body !== null && "messages" in body ? body.messages : null;
      const effect = dayEffect(profile, origin.config.ttftBaseMs, virtualNow(resolved.clock, Date.now()), requestDraws(profile.seed, origin.name, messages));
      day.get(origin.name)?.record(effect);
      fault = effect.fault;
    }

    const lifetime = new AbortController();
    request.signal.addEventListener("abort", () => lifetime.abort(request.signal.reason), { once: true });
    if (request.signal.aborted) lifetime.abort(request.signal.reason);
    const ctx: RequestContext = { origin, fault, lifetime, nextSeq, now };

    let response: Response;
    try {
      await sleep(fault?.delayMs ?? 0, lifetime.signal);
      if (fault?.redirect !== undefined) response = redirectResponse(fault.redirect);
      else if (fault?.status !== undefined) response = faultStatusResponse(fault.status, fault.message);
      else if (fault?.garbage) response = garbageResponse(isStreamRequest(body));
      else if (route.endpoint === "chat") response = await handleChat(body, ctx);
      else if (route.endpoint === "completions") response = await handleCompletions(body, ctx);
      else if (route.endpoint === "responses") response = await handleResponses(body, ctx);
      else response = await handleEmbeddings(body, ctx);
    } catch (err) {
      // Only an abort interrupts a wait before the headers; nobody is left to read the answer.
      if (!lifetime.signal.aborted) throw err;
      return errorResponse({ status: 499, message: "Client closed the request.", type: "client_closed" });
    }
    if (fault?.nestedAnswer !== undefined) response = await withNestedField(response, fault.nestedAnswer);
    if (fault?.retryAfter !== undefined) response.headers.set("retry-after", String(fault.retryAfter));
    return response;
  }

  return {
    async fetch(request) {
      try {
        return await serve(request);
      } catch (err) {
        // A bug in the simulator: the reason goes to the log, the client gets the one error shape.
        console.error("sim: internal error", err);
        return errorResponse({ status: 500, message: "Simulator internal error.", type: "server_error" });
      }
    },
  };
}

/** One control endpoint: the method it accepts and what it does. */
interface ControlRoute {
  method: string;
  serve(): Response;
}

/** `/_sim/...`: health, the request recorder, stats and reset. */
function control(request: Request, rest: string[], state: SimState): Response {
  const route = controlRoute(rest, state);
  if (!route) return notFound(`Unknown simulator path '${new URL(request.url).pathname}'.`);
  if (request.method !== route.method) {
    return errorResponse({
      status: 405,
      message: `Method ${request.method} is not allowed here; use ${route.method}.`,
      headers: { allow: route.method },
    });
  }
  return route.serve();
}

function controlRoute(rest: string[], state: SimState): ControlRoute | undefined {
  const [name, arg] = rest;
  if (rest.length === 2 && name === "requests") {
    return { method: "GET", serve: () => Response.json(state.recorder.byRequestId(arg ?? "")) };
  }
  if (rest.length !== 1) return undefined;
  if (name === "health") return { method: "GET", serve: () => Response.json({ ok: true }) };
  if (name === "stats") return { method: "GET", serve: () => Response.json(statsOf(state)) };
  if (name === "reset") {
    return {
      method: "POST",
      serve: () => {
        reset(state);
        return Response.json({ ok: true });
      },
    };
  }
  return undefined;
}

function statsOf(state: SimState): SimStats {
  // fromEntries defines own properties, so even an origin named "__proto__" is listed as itself.
  const entries = [...state.origins].map(([name, o]) => [name, o.stats.snapshot(o.cache.size)] as const);
  const day = [...state.day].map(([name, d]) => [name, d.snapshot()] as const);
  return { origins: Object.fromEntries(entries), ...(day.length > 0 ? { day: Object.fromEntries(day) } : {}) };
}

/**
 * Back to a fresh simulator's state between benchmark runs: empty caches, free prefill slots, zeroed
 * counters, no records. Answers still running finish on the timing they were given.
 */
function reset(state: SimState): void {
  for (const origin of state.origins.values()) {
    origin.cache.clear();
    origin.queue.clear();
    origin.stats.reset();
  }
  for (const d of state.day.values()) d.reset();
  state.recorder.clear();
}

function notFound(message: string): Response {
  return errorResponse({ status: 404, message, code: "not_found" });
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function isStreamRequest(body: unknown): boolean {
  return typeof body === "object" && body !== null && "stream" in body && body.stream === true;
}
