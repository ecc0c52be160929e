/**
 * The affinity benchmark's workload: a seeded, deterministic trace of chat requests from several
 * tenants, built so that WHERE a request is served decides how much of its prompt an origin's
 * prefix cache already holds.
 *
 * - Each tenant has a long system prompt (1.5k-4k tokens) and a few tool definitions (JSON
 *   functions, a few hundred tokens in all): the prefix every one of its requests shares.
 * - Multi-turn sessions: turn k sends the system prompt, the k−1 earlier exchanges (the
 *   assistant's answers are fixed text generated here, not what the origin answered, so every
 *   policy replays byte-identical prompts) and a new user message; a think time separates turns.
 *   A session's prompt grows every turn, so most of its tokens are its own history, which only
 *   the origin that served its previous turn holds.
 * - Single-turn API calls: the tenant's system prompt and tools with different user content
 *   (documents to classify, extract from...): the shared prefix is all they can reuse.
 * - Sessions start uniformly in [−½·span, duration), span being a session's mean length, and
 *   turns before 0 are dropped (their text stays in the history): the trace starts in a steady
 *   state, as if the benchmark joined running traffic, rather than ramping up.
 * - Priorities (`service_tier`): a session keeps one (priority 15 %, default 85 %); API calls are
 *   default (60 %) or flex (40 %). Mostly default overall.
 * - Tenants are not equally busy: tenant i's weight is 1/(i+1)^skew.
 *
 * Text comes from a fixed word list picked by mulberry32 (src/sim/hash.ts), ASCII only, so one
 * simulated token is exactly 4 characters (the simulator's rule, src/sim/tokens.ts).
 * Every body asks for a stream with usage, a small `max_tokens` (16-64) and `user` = the session
 * id (what a session-hash policy hashes).
 */
import { mulberry32 } from "../../../src/sim/hash";
import { BYTES_PER_TOKEN } from "../../../src/sim/tokens";

export type ServiceTier = "priority" | "default" | "flex";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** An OpenAI chat tool: a JSON-schema function definition. */
export interface ChatTool {
  type: "function";
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/** The OpenAI chat request a trace entry sends. */
export interface ChatBody {
  model: string;
  messages: ChatMessage[];
  tools: ChatTool[];
  user: string;
  stream: true;
  stream_options: { include_usage: true };
  max_tokens: number;
  service_tier: ServiceTier;
}

export interface TraceEntry {
  /** Milliseconds from the start of the replay. */
  at: number;
  tenant: string;
  /** The session id (also the body's `user`); an API call is a session of one request. */
  session: string;
  kind: "turn" | "call";
  /** 1-based turn number in its session (1 for a call). */
  turn: number;
  body: ChatBody;
}

export interface TenantSpec {
  id: string;
  weight: number;
  systemTokens: number;
  toolTokens: number;
}

/** [min, max], both inclusive for integers. */
export type Range = readonly [number, number];

export interface WorkloadOptions {
  seed: number;
  tenants: number;
  durationMs: number;
  /** Mean requests per second over the whole trace. */
  rate: number;
  /** Share of requests that are session turns (the rest are single-turn API calls). */
  sessionShare: number;
  /** Turns per session. */
  turns: Range;
  /** Pause between one turn and the next (ms). */
  thinkMs: Range;
  systemTokens: Range;
  toolsPerTenant: Range;
  /** A session's user message. */
  userTokens: Range;
  /** Extra context the first user message of a session carries (a document, files an agent read). */
  contextTokens: Range;
  /** The assistant answer a later turn carries in its history. */
  answerTokens: Range;
  /** The user content of a single-turn API call. */
  callTokens: Range;
  maxTokens: Range;
  /** Zipf exponent of tenant weights (0: all equally busy). */
  tenantSkew: number;
  /** The `model` of every request: the router's scenario. */
  model: string;
}

/**
 * Agent-style sessions over long contexts, tuned with the offline model (`model.ts`) so that the
 * benchmark's targets are within reach of a good policy and out of reach of a blind one:
 *
 * - Each tenant's shared prefix (1.5k-4k system prompt + tools, ~3.3k tokens on average) is under
 *   a tenth of a mean prompt (~38k tokens: a 16k-40k document or set of files in the first user
 *   message, then 200-700-token answers and 50-400-token user turns, 16-48 turns). The share
 *   matters: every origin keeps every tenant's hot shared prefix whatever the policy, so
 *   round-robin's hit rate is at least that share plus 1/K of the history hits (a session's next
 *   turn lands on the origin of its previous turn one time in K). With K = 4 the best a policy
 *   can do against round-robin is about (ideal)/(shared + (ideal − shared)/4): 3× needs the
 *   shared prefix under ~10 % of the prompt tokens.
 * - 20 requests/s with 1.0-1.4 s think times keep ~25 sessions in flight (about 6 per origin, so
 *   sticky placement can balance) and give each session ~20 turns inside 30 s, so first turns
 *   (cold for every policy) stay under 10 % of requests and out of the affinity policy's p90.
 * - 5 % single-turn API calls (40 % of them flex) share only the tenant's prefix.
 */
export const DEFAULT_WORKLOAD: WorkloadOptions = {
  seed: 1,
  tenants: 6,
  durationMs: 30_000,
  rate: 20,
  sessionShare: 0.95,
  turns: [16, 48],
  thinkMs: [1_000, 1_400],
  systemTokens: [1_500, 4_000],
  toolsPerTenant: [2, 5],
  userTokens: [50, 400],
  contextTokens: [16_000, 40_000],
  answerTokens: [200, 700],
  callTokens: [150, 900],
  maxTokens: [16, 64],
  tenantSkew: 0.5,
  model: "chat-affinity",
};

export interface Trace {
  options: WorkloadOptions;
  tenants: TenantSpec[];
  /** Sorted by `at`. */
  entries: TraceEntry[];
  sessions: number;
  calls: number;
}

const TENANT_NAMES = ["acme", "globex", "initech", "umbrella", "hooli", "soylent", "stark", "wayne", "wonka", "tyrell"];

/** The vocabulary text is drawn from (ASCII, so 1 char = 1 byte). */
const WORDS = (
  "the of and to in is that for it as with was on be by this are from at or an have not they which one you were " +
  "all we when can there use each she do how their if will up other about out many then them these so some her " +
  "would make like him into time has look two more write go see number no way could people my than first water " +
  "been call who oil its now find long down day did get come made may part over new sound take only little work " +
  "know place year live me back give most very after thing our just name good sentence man think say great where " +
  "help through much before line right too mean old any same tell boy follow came want show also around form three " +
  "small set put end does another well large must big even such because turn here why ask went men read need land " +
  "different home us move try kind hand picture again change off play spell air away animal house point page letter " +
  "mother answer found study still learn should america world high every near add food between own below country " +
  "plant last school father keep tree never start city earth eye light thought head under story saw left few while " +
  "along might close something seem next hard open example begin life always those both paper together got group " +
  "often run important until children side feet car mile night walk white sea began grow took river four carry state " +
  "once book hear stop without second later miss idea enough eat face watch far indian really almost let above girl " +
  "sometimes mountain cut young talk soon list song being leave family invoice ledger refund policy customer order " +
  "shipment contract clause warranty account balance ticket priority escalate summary report quarter revenue margin"
).split(" ");

/** A seeded source of choices. */
class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  /** Integer in [min, max]. */
  int([min, max]: Range): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  /** Real in [min, max). */
  real([min, max]: Range): number {
    return min + this.next() * (max - min);
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  /** Index by weight. */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((a, b) => a + b, 0);
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }
  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }
  /** Words until the text is exactly `tokens` simulated tokens long (4 chars each). */
  text(tokens: number, lead = ""): string {
    const bytes = tokens * BYTES_PER_TOKEN;
    let out = lead;
    while (out.length < bytes) out += (out.length > 0 ? " " : "") + this.pick(WORDS);
    return out.slice(0, bytes);
  }
}

/** Tokens of a string as the simulator counts them (ASCII text: length / 4, rounded up). */
function tokensOf(text: string): number {
  return Math.ceil(text.length / BYTES_PER_TOKEN);
}

function makeTools(rng: Rng, count: number): ChatTool[] {
  const tools: ChatTool[] = [];
  for (let t = 0; t < count; t++) {
    const name = `${rng.pick(WORDS)}_${rng.pick(WORDS)}_${t}`;
    const properties: Record<string, unknown> = {};
    const required: string[] = [];
    const params = rng.int([2, 5]);
    for (let p = 0; p < params; p++) {
      const key = `${rng.pick(WORDS)}_${p}`;
      properties[key] = { type: rng.pick(["string", "integer", "boolean", "number"]), description: rng.text(rng.int([8, 20])) };
      if (rng.float() < 0.6) required.push(key);
    }
    tools.push({
      type: "function",
      function: { name, description: rng.text(rng.int([20, 50])), parameters: { type: "object", properties, required } },
    });
  }
  return tools;
}

/**
 * Generates the trace. Same options, same trace, byte for byte.
 * @example
 * generateTrace({ ...DEFAULT_WORKLOAD, durationMs: 5_000 }).entries.length // ≈ rate × 5
 */
export function generateTrace(options: WorkloadOptions): Trace {
  const o = options;
  const rng = new Rng(o.seed);
  const tenants: TenantSpec[] = [];
  const prefixes: { system: string; tools: ChatTool[] }[] = [];
  for (let i = 0; i < o.tenants; i++) {
    const id = i < TENANT_NAMES.length ? TENANT_NAMES[i]! : `tenant${i}`;
    const systemTokens = rng.int(o.systemTokens);
    const system = rng.text(systemTokens, `You are the assistant of ${id}. Follow these instructions.`);
    const tools = makeTools(rng, rng.int(o.toolsPerTenant));
    prefixes.push({ system, tools });
    tenants.push({ id, weight: 1 / Math.pow(i + 1, o.tenantSkew), systemTokens, toolTokens: tokensOf(JSON.stringify(tools)) });
  }
  const weights = tenants.map((t) => t.weight);
  const tierOfSession = (): ServiceTier => (rng.float() < 0.15 ? "priority" : "default");
  const tierOfCall = (): ServiceTier => (rng.float() < 0.4 ? "flex" : "default");

  const entries: TraceEntry[] = [];
  const body = (tenant: number, session: string, messages: ChatMessage[], tier: ServiceTier): ChatBody => ({
    model: o.model,
    messages,
    tools: prefixes[tenant]!.tools,
    user: session,
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: rng.int(o.maxTokens),
    service_tier: tier,
  });

  // Sessions, until their turns inside [0, duration) reach their share of the requests.
  const meanTurns = (o.turns[0] + o.turns[1]) / 2;
  const meanSpanMs = (meanTurns - 1) * ((o.thinkMs[0] + o.thinkMs[1]) / 2);
  const targetRequests = Math.max(1, Math.round((o.rate * o.durationMs) / 1000));
  const targetTurns = Math.round(targetRequests * o.sessionShare);
  const perTenant = new Array<number>(o.tenants).fill(0);
  let sessions = 0;
  let turnsInside = 0;
  while (turnsInside < targetTurns) {
    const tenant = rng.weighted(weights);
    const id = `${tenants[tenant]!.id}-s${perTenant[tenant]!++}`;
    const tier = tierOfSession();
    const turns = rng.int(o.turns);
    let at = rng.real([-meanSpanMs / 2, o.durationMs]);
    const history: ChatMessage[] = [{ role: "system", content: prefixes[tenant]!.system }];
    let kept = 0;
    for (let turn = 1; turn <= turns; turn++) {
      if (turn > 1) {
        history.push({ role: "assistant", content: rng.text(rng.int(o.answerTokens)) });
        at += rng.real(o.thinkMs);
      }
      const context = turn === 1 ? rng.int(o.contextTokens) : 0;
      history.push({ role: "user", content: rng.text(rng.int(o.userTokens) + context) });
      if (at >= o.durationMs) break;
      if (at >= 0 && turnsInside < targetTurns) {
        entries.push({ at: Math.round(at), tenant: tenants[tenant]!.id, session: id, kind: "turn", turn, body: body(tenant, id, [...history], tier) });
        turnsInside++;
        kept++;
      }
    }
    if (kept > 0) sessions++;
  }

  // Single-turn calls: a Poisson stream over the whole duration.
  const callRate = Math.max(0, targetRequests - turnsInside) / o.durationMs;
  const callCount = new Array<number>(o.tenants).fill(0);
  let calls = 0;
  if (callRate > 0) {
    for (let at = rng.exponential(1 / callRate); at < o.durationMs; at += rng.exponential(1 / callRate)) {
      const tenant = rng.weighted(weights);
      const id = `${tenants[tenant]!.id}-c${callCount[tenant]!++}`;
      const messages: ChatMessage[] = [
        { role: "system", content: prefixes[tenant]!.system },
        { role: "user", content: rng.text(rng.int(o.callTokens)) },
      ];
      entries.push({ at: Math.round(at), tenant: tenants[tenant]!.id, session: id, kind: "call", turn: 1, body: body(tenant, id, messages, tierOfCall()) });
      calls++;
    }
  }
  // Stable: equal times keep generation order.
  entries.sort((a, b) => a.at - b.at);
  return { options: o, tenants, entries, sessions, calls };
}

/** Parses "a-b" or "a" into a range. */
export function parseRange(text: string, what: string): Range {
  const m = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$/.exec(text.trim());
  if (!m) throw new Error(`${what}: expected N or MIN-MAX, got "${text}"`);
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  if (max < min) throw new Error(`${what}: ${min} > ${max}`);
  return [min, max];
}
