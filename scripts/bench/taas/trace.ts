/**
 * The seeded trace of one day: every request's virtual arrival time, tenant, class and body.
 * Deterministic for a seed and a size; nothing here depends on the router or on real time.
 *
 * Arrivals are Poisson per tenant and hour, with the hour's rate from the tenant's curve
 * (tenants.ts), plus its spike; within an hour they are uniform. Bodies are a tenant-wide system
 * prompt and a user message of words from a fixed list (ASCII, so a simulated token is exactly 4
 * bytes), tagged with the request's id so that no two prompts are alike.
 */
import { mulberry32 } from "../../../src/sim/hash";
import { BYTES_PER_TOKEN } from "../../../src/sim/tokens";
import { BATCH_DEADLINE_MS, MAX_TOKENS, SERVICE_TIER, TENANTS, type Range, type RequestClass, type TenantSpec } from "./tenants";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

export interface ChatMessage {
  role: "system" | "user";
  content: string;
}

/** The OpenAI chat request a trace entry sends. */
export interface ChatBody {
  model: string;
  messages: ChatMessage[];
  stream: true;
  stream_options: { include_usage: true };
  max_tokens: number;
  service_tier: "priority" | "default" | "flex";
}

export interface TraceEntry {
  /** Position in the trace (arrival order). */
  id: number;
  /** Virtual ms from the start of the day. */
  at: number;
  tenant: string;
  cls: RequestClass;
  /** Batch only: by when (virtual ms from the start of the day) its answer must be complete. */
  deadline: number | null;
  body: ChatBody;
}

export interface Trace {
  seed: number;
  entries: TraceEntry[];
  tenants: readonly TenantSpec[];
}

const WORDS = (
  "account adjust agent alert answer archive audit balance batch billing branch budget cache " +
  "campaign catalog change claim client cluster contract customer dashboard data deadline " +
  "delivery deploy design detail document draft error estimate event export feature field " +
  "filter forecast format invoice issue ledger limit market metric model monitor network " +
  "notice order outline partner payment pipeline plan policy price process product project " +
  "query quote record region release report request review risk route schedule search " +
  "segment server service session shipment status summary supplier support survey system " +
  "table target task team ticket total trend update usage vendor version warehouse window"
).split(" ");

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  int([lo, hi]: Range): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  /** A Poisson draw: Knuth's product of uniforms for small means, a rounded normal above. */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 30) {
      const n = Math.sqrt(-2 * Math.log(Math.max(this.next(), 1e-12))) * Math.cos(2 * Math.PI * this.next());
      return Math.max(0, Math.round(mean + Math.sqrt(mean) * n));
    }
    const limit = Math.exp(-mean);
    let k = 0;
    for (let p = this.next(); p > limit; p *= this.next()) k++;
    return k;
  }
  /** About `tokens` simulated tokens of text (4 ASCII bytes each). */
  text(tokens: number, lead = ""): string {
    const bytes = tokens * BYTES_PER_TOKEN;
    let out = lead;
    while (out.length < bytes) out += (out.length > 0 ? " " : "") + WORDS[Math.floor(this.next() * WORDS.length)];
    return out.slice(0, bytes);
  }
  pick<T>(weights: Readonly<Record<string, number>>, keys: readonly T[]): T {
    let r = this.next() * keys.reduce((a, k) => a + (weights[String(k)] ?? 0), 0);
    for (const k of keys) {
      r -= weights[String(k)] ?? 0;
      if (r < 0) return k;
    }
    return keys[keys.length - 1]!;
  }
}

const CLASSES: readonly RequestClass[] = ["interactive", "standard", "batch"];

interface Arrival {
  at: number;
  tenant: TenantSpec;
}

/** Each tenant's arrivals over the day: Poisson per hour from its curve, and its spike on top. */
function arrivals(rng: Rng, requests: number): Arrival[] {
  const out: Arrival[] = [];
  for (const tenant of TENANTS) {
    const perDay = requests * tenant.share;
    const sum = tenant.curve.reduce((a, b) => a + b, 0);
    for (let hour = 0; hour < 24; hour++) {
      const mean = (perDay * tenant.curve[hour]!) / sum;
      for (let i = rng.poisson(mean); i > 0; i--) out.push({ at: hour * HOUR_MS + Math.floor(rng.float() * HOUR_MS), tenant });
    }
    if (tenant.spike) {
      const { fromMin, toMin, factor } = tenant.spike;
      const hour = Math.floor(fromMin / 60);
      const mean = ((perDay * tenant.curve[hour]!) / sum) * factor * ((toMin - fromMin) / 60);
      for (let i = rng.poisson(mean); i > 0; i--) out.push({ at: fromMin * 60_000 + Math.floor(rng.float() * (toMin - fromMin) * 60_000), tenant });
    }
  }
  return out.sort((a, b) => a.at - b.at || a.tenant.id.localeCompare(b.tenant.id));
}

/**
 * The day's trace: about `requests` requests (Poisson), plus the spike.
 * @example
 * generateTrace({ seed: 1, requests: 3000, model: "chat-day" }).entries[0]?.body.service_tier
 */
export function generateTrace(options: { seed: number; requests: number; model: string }): Trace {
  const rng = new Rng(options.seed);
  const system = new Map(TENANTS.map((t) => [t.id, rng.text(t.systemTokens, `You are the assistant of ${t.id}. Follow the house rules.`)]));
  const entries = arrivals(rng, options.requests).map(({ at, tenant }, id): TraceEntry => {
    const cls = rng.pick(tenant.mix, CLASSES);
    const body: ChatBody = {
      model: options.model,
      messages: [
        { role: "system", content: system.get(tenant.id)! },
        { role: "user", content: rng.text(rng.int(tenant.userTokens[cls]), `[${tenant.id} ${id}]`) },
      ],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: rng.int(MAX_TOKENS[cls]),
      service_tier: SERVICE_TIER[cls],
    };
    return { id, at, tenant: tenant.id, cls, deadline: cls === "batch" ? at + BATCH_DEADLINE_MS : null, body };
  });
  return { seed: options.seed, entries, tenants: TENANTS };
}
