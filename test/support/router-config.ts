/**
 * The routing config and simulated origins every router test runs against. Origins live in one
 * simulator process (started by `global-setup.ts`); `dead` points at a closed port, so its
 * connection errors are real ones.
 */
import type { RouterConfigInput } from "../../src/config/schema";
import type { SimOptions } from "../../src/sim/options";

/** The origin API key the router injects for `alpha`; the simulator refuses any other. */
export const ALPHA_API_KEY = "sk-alpha-test-secret";
export const ADMIN_TOKEN = "test-admin-token";
/** The read-only admin token (`ADMIN_READ_TOKEN`): every GET under /admin, no change. */
export const ADMIN_READ_TOKEN = "test-admin-read-token";
export const DEMO_TENANT_KEY = "tr-demo-local";

/** Small timeouts keep timeout tests fast; large enough that a loaded 2-core machine never trips them by accident. */
export const FIRST_BYTE_MS = 1000;
export const TOTAL_MS = 2500;
/** Leases' window in the suite (DESIGN §3). */
export const LEASE_MS = 300;
/** SSE keep-alive comments while a relayed stream's origin is silent: well inside the timeouts, so stalls show them. */
export const HEARTBEAT_MS = 400;

/**
 * Origins whose requests fail only when the request asks too much (issue #12): prefill at 1 ms a
 * token with nothing cached, so a short prompt answers at once and {@link LONG_PROMPT} outlasts the
 * first-byte timeout every time, while the origin stays healthy (its model listing answers).
 */
const LONG_PROMPTS_TIME_OUT = { profile: "openai", prefillMsPerToken: 1, cacheBlocks: 0 } as const;

/** A 48 KB prompt, 12,000 tokens: 12 s of prefill on the origins above. */
export const LONG_PROMPT = "x".repeat(48_000);

export const simOptions = {
  origins: {
    alpha: { profile: "openai", apiKey: ALPHA_API_KEY },
    beta: { profile: "deepseek" },
    pool: { profile: "vllm" },
    cool: { profile: "openai" },
    flaky: LONG_PROMPTS_TIME_OUT,
    canaried: LONG_PROMPTS_TIME_OUT,
    // Only the client-disconnect tests call it: its in-flight count is theirs alone.
    hangup: { profile: "openai" },
    // Three identical self-hosted pools for the affinity tests.
    "gpu-a": { profile: "vllm" },
    "gpu-b": { profile: "vllm" },
    "gpu-c": { profile: "vllm" },
    // Two pools whose (router-declared) cache is tiny, for the cache model.
    "kv-a": { profile: "vllm" },
    "kv-b": { profile: "vllm" },
    "prefill-bound": LONG_PROMPTS_TIME_OUT,
    faulted: { profile: "openai" },
    // Provider-specific request fields (issue #17): an OpenAI origin that prices service tiers, and
    // an OpenRouter one (usage and its own cost in every stream).
    tiered: { profile: "openai" },
    router: { profile: "openrouter" },
    // A scenario's migration (issue #19): from a MaaS API to a pool, their own so figures are exact.
    "mig-maas": { profile: "openai" },
    "mig-pool": { profile: "vllm" },
    // A pool that serves the Responses API itself (issue #17): sent Responses requests, not chat.
    "pool-native": { profile: "vllm" },
    // Configured as `openai` but no OpenAI (issue #17): an OpenAI-compatible server without `/v1/responses` (a 404).
    compat: { profile: "deepseek" },
    // Outcomes (issue #19 §1): their own, so monitor counts are exact.
    "out-maas": { profile: "openai" },
    "out-pool": { profile: "vllm" },
    // The decision report's seeded trace (rows written straight into ledgers; nothing calls them).
    "rep-maas": { profile: "openai" },
    "rep-pool": { profile: "vllm" },
    // The report's batch/deferred option: a dear fallback, half price off-peak (nothing calls it).
    "defer-b": { profile: "openai" },
  },
} satisfies SimOptions;

/** The Batch API's limits in the suite (`batches`). */
export const BATCH_MAX_FILE_BYTES = 512 * 1024;
export const BATCH_MAX_LINES = 1000;
export const BATCH_MAX_LINE_BYTES = 8 * 1024;
export const BATCH_CONCURRENCY = 4;

/** USD per million tokens: 1 µ$ per input token, 2 µ$ per output token. */
export const ALPHA_PRICING = { input: 1, cachedInput: 0.5, output: 2 };
/** DeepSeek-like, with its off-peak half price (16:30-00:30 UTC). */
export const BETA_PRICING = { input: 0.27, cachedInput: 0.07, output: 1.1, windows: [{ from: "16:30", to: "00:30", multiplier: 0.5 }] };
/** Input free, output 2 µ$ a token: a request's worst case is exactly its cost when it fills its cap. */
export const POOL_PRICING = { input: 0, output: 2 };

/** `tiered`'s prices per `service_tier` it declares: priority doubles them, flex halves them. */
export const TIER_PRICING = { priority: { input: 2, output: 4 }, flex: { input: 0.5, output: 1 } };
/** The migration's pool: 0.5 µ$ an input token, 1 µ$ an output token. */
export const MIG_POOL_PRICING = { input: 0.5, output: 1 };
/** The migration's canary stops itself past this estimated cost: a prompt of ~8 KB trips it, a short one never. */
export const MIG_CANARY_MAX_COST = 1_000;

/** The decision report's pool: $2 a unit-hour, 100 requests an hour per unit. */
export const REPORT_POOL_ECONOMICS = { fixedUsdPerHour: 2, requestsPerHour: 100 };
export const REPORT_DECISION = { overheadUsdPerMonth: 100, minRequests: 10, minRated: 4 };
/** `defer-b`: four times `ALPHA_PRICING`, half of it off-peak (22:00-06:00 UTC): still dearer than `rep-maas` at list. */
export const DEFER_B_PRICING = { input: 4, cachedInput: 2, output: 8, windows: [{ from: "22:00", to: "06:00", multiplier: 0.5 }] };

/** The affinity tests' pools: cached input at a tenth of the price. */
export const GPU_POOLS = ["gpu-a", "gpu-b", "gpu-c"] as const;
export const GPU_PRICING = { input: 1, cachedInput: 0.1, output: 2 };
/** Pools that declare a KV cache of this many tokens: two 1,800-token conversations overflow one. */
export const KV_POOLS = ["kv-a", "kv-b"] as const;
export const KV_CACHE_TOKENS = 2_500;

const NEVER_OPEN = { failureThreshold: 10_000, errorRateThreshold: 1, minSamples: 1_000_000 };
/** The noisy-neighbour origins' breaker: three failures open it, for longer than any test runs. */
const TENANT_CIRCUIT = { failureThreshold: 3, cooldownMs: 600_000, maxCooldownMs: 600_000 };

export function testRouterConfig(simUrl: string): RouterConfigInput {
  const timeouts = { firstByteMs: FIRST_BYTE_MS, totalMs: TOTAL_MS };
  const origin = (name: string, provider: RouterConfigInput["origins"][string]["provider"]) => ({
    baseUrl: `${simUrl}/${name}/v1`,
    provider,
    kind: "maas" as const,
    timeouts,
    // These origins fail on purpose all the time; their circuits must not open and skew other
    // tests. The health tests use origins of their own with real breaker settings.
    circuit: NEVER_OPEN,
  });
  return {
    version: 1,
    origins: {
      alpha: { ...origin("alpha", "openai"), apiKeySecret: "ALPHA_API_KEY", pricing: ALPHA_PRICING },
      beta: { ...origin("beta", "deepseek"), pricing: BETA_PRICING },
      pool: { ...origin("pool", "vllm"), kind: "self-hosted", pricing: POOL_PRICING },
      cool: origin("cool", "openai"),
      // Nothing listens on port 9: connecting fails at once.
      dead: { baseUrl: "http://127.0.0.1:9/v1", provider: "openai", kind: "maas", timeouts, circuit: NEVER_OPEN },
      canaried: origin("canaried", "openai"),
      hangup: { ...origin("hangup", "openai"), pricing: ALPHA_PRICING },
      // A real, quick circuit breaker: the routing tests trip it (two tenants' long prompts) and close
      // it. The cool-down outlasts a first-byte timeout: a circuit opens when the failing attempt began.
      flaky: { ...origin("flaky", "openai"), circuit: { failureThreshold: 2, cooldownMs: 2_000, maxCooldownMs: 4_000, halfOpenSuccesses: 1 } },
      nokey: { ...origin("beta", "openai"), apiKeySecret: "UNSET_API_KEY" },
      // Noisy neighbours (issue #12), with real breakers: three failures open them. `prefill-bound`
      // fails long prompts only; nothing listens on `gone`'s port, so it fails everyone, probes included.
      "prefill-bound": { ...origin("prefill-bound", "openai"), circuit: TENANT_CIRCUIT },
      gone: { baseUrl: "http://127.0.0.1:9/v1", provider: "openai", kind: "maas", timeouts, circuit: TENANT_CIRCUIT },
      // Asked for `sim` faults by the noisy-neighbour tests, with a real breaker.
      faulted: { ...origin("faulted", "openai"), circuit: TENANT_CIRCUIT },
      tiered: { ...origin("tiered", "openai"), pricing: ALPHA_PRICING, serviceTiers: TIER_PRICING },
      router: { ...origin("router", "openrouter"), pricing: ALPHA_PRICING },
      "mig-maas": { ...origin("mig-maas", "openai"), pricing: ALPHA_PRICING },
      "mig-pool": { ...origin("mig-pool", "vllm"), kind: "self-hosted", pricing: MIG_POOL_PRICING },
      "pool-native": { ...origin("pool-native", "vllm"), kind: "self-hosted", pricing: POOL_PRICING, responsesApi: true },
      compat: { ...origin("compat", "openai"), pricing: POOL_PRICING },
      "out-maas": { ...origin("out-maas", "openai"), pricing: ALPHA_PRICING },
      "out-pool": { ...origin("out-pool", "vllm"), kind: "self-hosted", pricing: MIG_POOL_PRICING },
      "rep-maas": { ...origin("rep-maas", "openai"), pricing: ALPHA_PRICING, region: "eu-west" },
      "rep-pool": { ...origin("rep-pool", "vllm"), kind: "self-hosted", pricing: MIG_POOL_PRICING, economics: REPORT_POOL_ECONOMICS },
      "defer-b": { ...origin("defer-b", "openai"), pricing: DEFER_B_PRICING },
      ...Object.fromEntries(
        GPU_POOLS.map((name) => [name, { ...origin(name, "vllm"), kind: "self-hosted" as const, capacity: 4, pricing: GPU_PRICING }]),
      ),
      ...Object.fromEntries(
        KV_POOLS.map((name) => [
          name,
          { ...origin(name, "vllm"), kind: "self-hosted" as const, capacity: 4, pricing: GPU_PRICING, cache: { capacityTokens: KV_CACHE_TOKENS } },
        ]),
      ),
    },
    scenarios: {
      "chat-main": {
        endpoint: "chat",
        routing: "ordered",
        candidates: [
          { origin: "alpha", model: "alpha-large" },
          { origin: "beta", model: "deepseek-chat" },
        ],
      },
      "chat-alpha-only": { endpoint: "chat", candidates: [{ origin: "alpha", model: "alpha-large" }] },
      "chat-hangup": { endpoint: "chat", routing: "ordered", candidates: [{ origin: "hangup", model: "hangup-model" }, { origin: "beta", model: "deepseek-chat" }] },
      "chat-deepseek": { endpoint: "chat", candidates: [{ origin: "beta", model: "deepseek-chat" }] },
      "chat-pool": { endpoint: "chat", candidates: [{ origin: "pool", model: "qwen2.5-7b" }] },
      "chat-priced": {
        endpoint: "chat",
        routing: "ordered",
        candidates: [
          { origin: "pool", model: "qwen2.5-7b" },
          { origin: "alpha", model: "alpha-large" },
        ],
        maxOutputTokens: 64,
        minOutputTokens: 4,
      },
      "chat-dead-first": {
        endpoint: "chat",
        routing: "ordered",
        candidates: [
          { origin: "dead", model: "m" },
          { origin: "beta", model: "deepseek-chat" },
        ],
      },
      "chat-nokey-first": {
        endpoint: "chat",
        routing: "ordered",
        candidates: [
          { origin: "nokey", model: "m" },
          { origin: "pool", model: "qwen2.5-7b" },
        ],
      },
      "chat-cool": {
        endpoint: "chat",
        routing: "ordered",
        candidates: [
          { origin: "cool", model: "cool-model" },
          { origin: "pool", model: "qwen2.5-7b" },
        ],
      },
      "chat-cool-only": { endpoint: "chat", candidates: [{ origin: "cool", model: "cool-model" }] },
      "chat-health": {
        endpoint: "chat",
        routing: "ordered",
        candidates: [
          { origin: "flaky", model: "flaky-model" },
          { origin: "pool", model: "qwen2.5-7b" },
        ],
      },
      "chat-local-first": {
        endpoint: "chat",
        routing: "ordered",
        candidates: [
          { origin: "pool", model: "qwen2.5-7b" },
          { origin: "alpha", model: "alpha-large" },
        ],
      },
      "chat-shadowed": {
        endpoint: "chat",
        candidates: [{ origin: "pool", model: "qwen2.5-7b" }],
        shadow: { origin: "beta", model: "deepseek-shadow", share: 1 },
      },
      "chat-canary": {
        endpoint: "chat",
        candidates: [{ origin: "pool", model: "qwen2.5-7b" }],
        canary: { origin: "canaried", model: "canary-model", share: 1, stop: { errorRate: 0.2, minSamples: 3 } },
      },
      "chat-affinity": { endpoint: "chat", candidates: GPU_POOLS.map((origin) => ({ origin, model: "qwen3-32b" })) },
      "chat-cache-model": { endpoint: "chat", candidates: KV_POOLS.map((origin) => ({ origin, model: "qwen3-32b" })) },
      "chat-round-robin": {
        endpoint: "chat",
        candidates: GPU_POOLS.map((origin) => ({ origin, model: "qwen3-32b" })),
        affinity: { policy: "round-robin" },
      },
      "chat-session-hash": {
        endpoint: "chat",
        candidates: GPU_POOLS.map((origin) => ({ origin, model: "qwen3-32b" })),
        affinity: { policy: "session-hash" },
      },
      "chat-prefill-bound": {
        endpoint: "chat",
        routing: "ordered",
        candidates: [
          { origin: "prefill-bound", model: "long-model" },
          { origin: "pool", model: "qwen2.5-7b" },
        ],
      },
      "chat-gone-first": {
        endpoint: "chat",
        routing: "ordered",
        candidates: [
          { origin: "gone", model: "m" },
          { origin: "pool", model: "qwen2.5-7b" },
        ],
      },
      "chat-faulted": {
        endpoint: "chat",
        routing: "ordered",
        candidates: [
          { origin: "faulted", model: "faulted-model" },
          { origin: "pool", model: "qwen2.5-7b" },
        ],
      },
      // The Batch API's tests (test/batch): DeepSeek-like `beta` (half price 16:30-00:30 UTC) and
      // `alpha` as its fallback; scored, so a batch line goes to the cheaper.
      "batch-offpeak": {
        endpoint: "chat",
        candidates: [
          { origin: "beta", model: "deepseek-chat" },
          { origin: "alpha", model: "alpha-large" },
        ],
      },
      // The Responses API passed through (test/routes/responses-native.test.ts): a native pool alone,
      // and first with the translating pool behind it.
      "chat-native": { endpoint: "chat", candidates: [{ origin: "pool-native", model: "qwen2.5-7b" }] },
      "chat-native-first": {
        endpoint: "chat",
        routing: "ordered",
        candidates: [
          { origin: "pool-native", model: "qwen2.5-7b" },
          { origin: "pool", model: "qwen2.5-7b" },
        ],
      },
      // An `openai` origin that has no Responses API: answered through the chat translation.
      "chat-compat": { endpoint: "chat", candidates: [{ origin: "compat", model: "compat-model" }] },
      "chat-tiered": { endpoint: "chat", candidates: [{ origin: "tiered", model: "tiered-model" }] },
      "chat-openrouter": { endpoint: "chat", candidates: [{ origin: "router", model: "vendor/model" }] },
      // Walked through every stage by test/routes/admin-migration.test.ts.
      "chat-migrating": {
        endpoint: "chat",
        routing: "ordered",
        candidates: [{ origin: "mig-maas", model: "maas-model" }],
        maxOutputTokens: 64,
        migration: {
          candidate: { origin: "mig-pool", model: "pool-model" },
          stage: "discovery",
          owner: "ml-platform@example.com",
          shadowShare: 1,
          evals: { minSamples: 4, errorRate: 0.25 },
          canary: { share: 1, stop: { costMicrosPerRequest: MIG_CANARY_MAX_COST, minSamples: 2, acceptanceDrop: 0.2, minRated: 2 } },
        },
      },
      // A migration to an origin whose API key secret is not set: its moves are refused.
      "chat-migrating-nokey": {
        endpoint: "chat",
        candidates: [{ origin: "pool", model: "qwen2.5-7b" }],
        migration: { candidate: { origin: "nokey", model: "m" }, stage: "draft", owner: "ops", shadowShare: 0 },
      },
      // Feedback and cost per accepted outcome (test/routes/feedback.test.ts).
      "chat-rated": { endpoint: "chat", candidates: [{ origin: "out-maas", model: "rated-model" }] },
      // Every quality gate on (test/routes/quality-gates.test.ts).
      "chat-gated": { endpoint: "chat", candidates: [{ origin: "out-pool", model: "gated-model" }], qualityGates: { json: true, finishReason: true, toolArguments: true } },
      // The decision report (test/routes/admin-report.test.ts).
      "chat-decided": {
        endpoint: "chat",
        routing: "ordered",
        candidates: [
          { origin: "rep-maas", model: "maas-model" },
          { origin: "rep-pool", model: "pool-model" },
        ],
        decision: REPORT_DECISION,
      },
      // The report's batch/deferred option: `beta` is half price off-peak (test/routes/admin-report.test.ts).
      "chat-deferrable": { endpoint: "chat", candidates: [{ origin: "beta", model: "deepseek-chat" }], decision: { ...REPORT_DECISION, deferrableShare: 0.1 } },
      // rep-maas serves; defer-b, its fallback, is dear even off-peak; `tiered`'s flex tier is half of rep-maas's price.
      "chat-ab": { endpoint: "chat", routing: "ordered", candidates: [{ origin: "rep-maas", model: "m" }, { origin: "defer-b", model: "m" }], decision: { ...REPORT_DECISION, deferrableShare: 0.25 } },
      "chat-abc": {
        endpoint: "chat",
        routing: "ordered",
        candidates: [
          { origin: "rep-maas", model: "m" },
          { origin: "defer-b", model: "m" },
          { origin: "tiered", model: "m" },
        ],
        decision: { ...REPORT_DECISION, deferrableShare: 0.25 },
      },
      "embed-main": {
        endpoint: "embeddings",
        routing: "ordered",
        candidates: [
          { origin: "pool", model: "bge-m3" },
          { origin: "alpha", model: "text-embedding-3-small" },
        ],
      },
    },
    limits: { maxBodyBytes: 64 * 1024, streamHeartbeatMs: HEARTBEAT_MS },
    // Every test shares one client address (SELF.fetch carries none), and the fuzz suite fails
    // authentication hundreds of times: the limit is tested on its own (test/auth/) and end to end.
    security: { authFailures: { burst: 1_000_000, perMinute: 1_000_000 } },
    // Short windows: a lease closes (and its rows land) soon after a test's last request.
    leases: { enabled: true, leaseMs: LEASE_MS },
    // Small enough to test each limit with small files, large enough for a batch of 1,000 lines.
    batches: { maxFileBytes: BATCH_MAX_FILE_BYTES, maxLines: BATCH_MAX_LINES, maxLineBytes: BATCH_MAX_LINE_BYTES, concurrency: BATCH_CONCURRENCY },
    // Fresh health quickly, so routing tests need not wait seconds for it.
    health: { snapshotTtlMs: 50, reportDelayMs: 20 },
    outcomes: { feedbackWindowHours: 24 },
  };
}
