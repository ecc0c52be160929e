/**
 * The simulated origin: an OpenAI-compatible stand-in for LLM providers, for the demo, the tests
 * and benchmarks. Web-standard only; the Node host lives in `./node` and is not re-exported here so
 * that importing this barrel never pulls Node APIs into workerd.
 */
export { createSimulator, type SimStats, type Simulator, type SimulatorHooks } from "./handler";
export type { OriginStatsSnapshot } from "./stats";
export { PrefillQueue } from "./prefill-queue";
export {
  SimOptionsSchema,
  SimOriginSchema,
  type ResolvedSimOptions,
  type ResolvedSimOrigin,
  type SimOptions,
  type SimOrigin,
} from "./options";
export { FaultSchema, type Fault } from "./faults";
export { PROFILES, PROFILE_SPECS, type ChatUsage, type DeepSeekUsage, type OpenAIUsage, type Profile } from "./profiles";
export { BYTES_PER_TOKEN, completionPieces, countTokens, renderChatPrompt, tokensForBytes } from "./tokens";
export { schemaInstance, type JsonValue } from "./schema-instance";
export { selectToolCall, type ToolSelection } from "./tool-choice";
export { choiceSeed, planAnswers, type ChoiceAnswer } from "./answers";
export { tokenLogprobs, type TokenLogprob } from "./logprobs";
export { blockHashes, PrefixCache } from "./prefix-cache";
export { generateCompletion, promptSeed, VOCABULARY } from "./text";
export { embeddingVector, encodeBase64Float32 } from "./embeddings";
export type { SimRecord } from "./recorder";
export type { OpenAIErrorBody } from "./errors";
export { DEMO_ALPHA_API_KEY, DEMO_BETA_API_KEY, demoSimOptions, zeroLatency } from "./demo";
