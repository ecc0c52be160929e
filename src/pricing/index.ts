/** Prices, costs and prompt-size bounds in integer micro-dollars: pure functions, no I/O. */
export { costMicros, MAX_TOKENS, maxAffordableOutputTokens, type Usage } from "./cost";
export { DEFAULT_PROMPT_ASSUMPTIONS, estimatePromptTokensUpperBound, utf8ByteLength, type PromptAssumptions } from "./estimate";
export { priceAt, type PriceRates, type Prices } from "./price-at";
export {
  BP_ONE,
  MAX_MULTIPLIER,
  MAX_USD_PER_MTOK,
  MICROS_PER_USD,
  pricingSchema,
  type PricedWindow,
  type Pricing,
  type PricingInput,
} from "./schema";
