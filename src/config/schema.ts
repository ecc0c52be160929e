/**
 * The routing config: origins (where tokens can be served) and scenarios (model aliases that
 * name an ordered list of candidate origins). This schema is the config's shape, and types are
 * inferred from it; `validate.ts` adds what crosses fields (unknown origins, secrets, overlapping
 * price windows, loopback) and is the one entry point every caller uses.
 */
import { z } from "zod";
import { originCacheSchema, scenarioAffinitySchema } from "../affinity/schema";
import { batchSettingsSchema } from "../batch/settings";
import { withMigration } from "../migration/derive";
import { migrationSchema } from "../migration/schema";
import { outcomesSettingsSchema, qualityGatesSchema } from "../outcomes/schema";
import { decisionSettingsSchema, poolEconomicsSchema } from "../report/schema";
import { pricingSchema } from "../pricing/schema";
import { originRoutingShape, originWindowSchema, scenarioRoutingShape } from "../routing/schema";
import { PROVIDER_PROFILES } from "./providers";

/** The provider families whose wire differences the router knows (see `providers.ts`). */
export const PROVIDERS = ["openai", "deepseek", "openrouter", "vllm", "sglang"] as const;

/** OpenAI's `service_tier` values (https://platform.openai.com/docs/api-reference/chat/create#chat-create-service_tier). */
export const SERVICE_TIERS = ["auto", "default", "flex", "scale", "priority"] as const;

const name = (what: string) =>
  z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, `${what} names use lower-case letters, digits, '.', '_' and '-' (at most 64)`);

/** A Worker secret's name, e.g. `DEEPSEEK_API_KEY`; the key itself never appears in config. */
const secretName = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{0,127}$/, "a secret name is upper-case letters, digits and '_', e.g. DEEPSEEK_API_KEY");

const httpUrl = z
  .url({ protocol: /^https?$/, error: "must be an absolute http(s) URL" })
  .transform((u) => u.replace(/\/+$/, ""));

const timeoutsSchema = z
  .object({
    /** Until the origin's first byte: response headers, and the first body chunk of a stream. */
    firstByteMs: z.number().int().min(1).max(600_000).default(20_000),
    /** The whole exchange, the body (or stream) included. */
    totalMs: z.number().int().min(1).max(3_600_000).default(600_000),
  })
  .strict()
  .refine((t) => t.firstByteMs <= t.totalMs, { message: "firstByteMs must not exceed totalMs", path: ["firstByteMs"] });

export const originSchema = z
  .object({
    /** The OpenAI-compatible API root, e.g. `https://api.deepseek.com/v1`. */
    baseUrl: httpUrl,
    provider: z.enum(PROVIDERS),
    /** `maas`: a provider's shared API; `self-hosted`: a pool we run (vLLM, SGLang). */
    kind: z.enum(["maas", "self-hosted"]).default("maas"),
    region: z.string().min(1).max(64).optional(),
    /** Name of the Worker secret holding this origin's API key; absent for an open pool. */
    apiKeySecret: secretName.optional(),
    timeouts: timeoutsSchema.default({ firstByteMs: 20_000, totalMs: 600_000 }),
    /** USD per million tokens (converted to integer micro-dollars); absent: free, e.g. an owned pool. */
    pricing: pricingSchema.optional(),
    /**
     * The `service_tier` values the origin accepts, each with its prices (as `pricing`). A request
     * asking for one of them is sent with it and charged at its prices; any other tier is consumed
     * by the router (a priority class) and stripped, so the origin never bills a tier the router did
     * not price. Only for providers that bill by tier (`providers.ts`).
     */
    serviceTiers: z.partialRecord(z.enum(SERVICE_TIERS), pricingSchema).optional(),
    /**
     * Whether the origin serves the Responses API (`POST /responses` under `baseUrl`): a
     * `POST /v1/responses` it is chosen for is then sent to it as a Responses request instead of
     * being translated to chat completions. Absent: its provider's default (`openai` yes, the others
     * no); a vLLM or SGLang pool that serves it opts in with `true`.
     */
    responsesApi: z.boolean().optional(),
    /** Its prompt cache's behaviour; absent fields come from the provider's profile. */
    cache: originCacheSchema.prefault({}),
    /** A self-hosted pool's fixed cost and throughput, for the scenarios' decision reports. */
    economics: poolEconomicsSchema.optional(),
    ...originRoutingShape,
  })
  .strict()
  .refine((o) => o.serviceTiers === undefined || PROVIDER_PROFILES[o.provider].serviceTier, {
    message: "only origins of a provider that bills by service_tier (openai) may declare serviceTiers",
    path: ["serviceTiers"],
  });

export const candidateSchema = z
  .object({
    origin: name("origin"),
    /** The model name this origin knows the scenario's model by. */
    model: z.string().min(1).max(256),
    /**
     * Windows of this scenario's own for this candidate, on top of the origin's: e.g. a batch
     * scenario that may use the shared pool only at night.
     */
    windows: z.array(originWindowSchema).optional(),
  })
  .strict();

export const scenarioSchema = z
  .object({
    description: z.string().max(500).optional(),
    /** Which API the scenario serves: chat completions or embeddings. */
    endpoint: z.enum(["chat", "embeddings"]).default("chat"),
    /** Tried in order; the next one serves when the one before fails before any byte reached the client. */
    candidates: z.array(candidateSchema).min(1).max(16),
    /**
     * The output cap assumed when a request sets none: its worst case for budgets and rate limits,
     * and imposed upstream when a budget applies (an unbounded answer could overspend it).
     */
    maxOutputTokens: z.number().int().min(1).max(1_000_000).default(4096),
    /** When a budget can afford fewer output tokens than this, the request is refused instead of cut short. */
    minOutputTokens: z.number().int().min(1).max(1_000_000).default(16),
    /** Prefix-cache affinity and the placement policy (see src/affinity). */
    affinity: scenarioAffinitySchema.prefault({}),
    ...scenarioRoutingShape,
    /**
     * Moving the scenario to another origin in stages (src/migration): its stage sets the shadow,
     * the canary or the order of candidates, so a scenario with one declares none of those itself.
     */
    migration: migrationSchema.optional(),
    /** Automatic judgments of each answer, counted beside human feedback (src/outcomes/gates.ts); off unless named. */
    qualityGates: qualityGatesSchema.optional(),
    /** The decision report's settings (`GET /admin/scenarios/{s}/report`); defaults when absent. */
    decision: decisionSettingsSchema.optional(),
  })
  .strict()
  .transform(withMigration);

export const limitsSchema = z
  .object({
    /** Largest accepted request body; larger ones get 413. */
    maxBodyBytes: z.number().int().min(1024).max(100 * 1024 * 1024).default(4 * 1024 * 1024),
    /**
     * While a relayed stream waits on its origin this long, the client gets an SSE comment
     * (`: keep-alive`), which SDKs ignore. It keeps idle proxies from closing the stream, and it is
     * how a client that went away is noticed: writing to its closed connection fails, and the origin
     * call is cancelled (a silent stall would otherwise hold the origin and the reservation until
     * the total timeout).
     */
    streamHeartbeatMs: z.number().int().min(100).max(60_000).default(5_000),
  })
  .strict();

export const securitySchema = z
  .object({
    /**
     * Off the edge, the request header that carries the client's address, set by a proxy in front
     * (e.g. `x-forwarded-for`; its last entry, the one the proxy appended, is taken). At the edge `cf-connecting-ip` is used and
     * this is ignored. Unset on bare workerd: the connection's peer address (`auth/failure-limit.ts`).
     */
    clientAddressHeader: z
      .string()
      .regex(/^[a-z0-9-]{1,64}$/, "a header name in lower case")
      .nullable()
      .default(null),
    /** Failed authentications (tenant keys and admin tokens, counted apart) per client address: a burst, then this many a minute. */
    authFailures: z
      .object({ burst: z.number().int().min(1).max(1_000_000).default(20), perMinute: z.number().int().min(1).max(1_000_000).default(10) })
      .strict()
      .prefault({}),
  })
  .strict();

export const leaseSettingsSchema = z
  .object({
    /**
     * Isolates admit requests from leases (DESIGN §3): no round trip to the tenant's ledger on most
     * requests. Off: every request is admitted by the ledger itself, as `strict` tenants' are.
     */
    enabled: z.boolean().default(true),
    /** A lease's window: how long a revoked key or a changed policy may still be honoured by an isolate. */
    leaseMs: z.number().int().min(100).max(60_000).default(1_000),
  })
  .strict();

export const healthSettingsSchema = z
  .object({
    /** How old an isolate's cached health snapshot of an origin may get before it is refreshed (in the background). */
    snapshotTtlMs: z.number().int().min(10).max(600_000).default(5_000),
    /** How long an isolate buffers health samples before it reports them. */
    reportDelayMs: z.number().int().min(10).max(600_000).default(2_000),
  })
  .strict();

export const routerConfigSchema = z
  .object({
    /** Where an editor finds this file's JSON Schema (`GET /admin/config/schema`); ignored by the router. */
    $schema: z.string().max(2048).optional(),
    version: z.literal(1),
    origins: z.record(name("origin"), originSchema).refine((o) => Object.keys(o).length > 0, "declare at least one origin"),
    scenarios: z.record(name("scenario"), scenarioSchema),
    limits: limitsSchema.prefault({}),
    health: healthSettingsSchema.prefault({}),
    security: securitySchema.prefault({}),
    leases: leaseSettingsSchema.prefault({}),
    /** Feedback on answers (`POST /v1/feedback`): how long a request may be rated. */
    outcomes: outcomesSettingsSchema.prefault({}),
    /** The Batch API (`/v1/files`, `/v1/batches`): file limits and how batches run. */
    batches: batchSettingsSchema.prefault({}),
  })
  .strict();

export type RouterConfig = z.infer<typeof routerConfigSchema>;
/** The config as written (USD prices, defaults not yet filled in): what `ROUTER_CONFIG` holds. */
export type RouterConfigInput = z.input<typeof routerConfigSchema>;
export type OriginConfig = z.infer<typeof originSchema>;
export type ScenarioConfig = z.infer<typeof scenarioSchema>;
export type Candidate = z.infer<typeof candidateSchema>;
export type Provider = (typeof PROVIDERS)[number];
export type ServiceTier = (typeof SERVICE_TIERS)[number];
