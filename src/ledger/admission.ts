/**
 * The budget decision of an admission, as a pure function of the budgets' current state and the
 * request's worst case (DESIGN §3). The ledger gathers the state, calls this, and writes what it
 * returns, all in one synchronous critical section.
 *
 * Worst case = an upper bound of the prompt's tokens at the input price + the output cap at the
 * output price, at the highest price among the candidates that may serve the request. When a
 * budget cannot cover the cap, the cap is lowered to what every budget affords; when not even a
 * minimal answer fits, the request is refused.
 */
import { costMicros, maxAffordableOutputTokens } from "../pricing/cost";
import type { Budget, ReservationRequest } from "./types";

export interface BudgetState {
  budget: Budget;
  settled: number;
  reserved: number;
}

export type BudgetDecision =
  | {
      kind: "admit";
      /** The output cap to enforce upstream; null when no budget applies and the client's own stands. */
      outputCap: number | null;
      /** What the reservation holds, per metric. */
      costMicros: number;
      tokens: number;
    }
  | { kind: "refuse"; budget: BudgetState };

/** Output tokens per choice a budget leaves room for (the cap applies to each of `n` choices), or -1 when not even the prompt fits. */
function affordable(state: BudgetState, request: ReservationRequest): number {
  const remaining = state.budget.limit - state.settled - state.reserved;
  const total =
    state.budget.metric === "tokens"
      ? remaining >= request.promptTokensUpper
        ? remaining - request.promptTokensUpper
        : -1
      : maxAffordableOutputTokens(request.prices, request.promptTokensUpper, remaining);
  return total < 0 ? -1 : Math.floor(total / request.choices);
}

/** The worst-case cost and tokens of a request whose `n` choices are each capped at `cap`. */
export function worstCase(request: ReservationRequest, cap: number): { costMicros: number; tokens: number } {
  const completionTokens = cap * request.choices;
  return {
    costMicros: costMicros(request.prices, {
      promptTokens: request.promptTokensUpper,
      cachedTokens: 0,
      cacheWriteTokens: 0,
      completionTokens,
    }),
    tokens: request.promptTokensUpper + completionTokens,
  };
}

/**
 * Decides one admission against every budget that applies to it.
 *
 * @example
 * decideBudgets([], request); // no budget: admitted with the client's own cap
 */
export function decideBudgets(states: readonly BudgetState[], request: ReservationRequest): BudgetDecision {
  const wanted = request.endpoint === "embeddings" ? 0 : (request.requestedOutputCap ?? request.defaultOutputCap);
  if (states.length === 0) {
    return { kind: "admit", outputCap: null, ...worstCase(request, wanted) };
  }
  let cap = wanted;
  let tightest: BudgetState | undefined;
  for (const state of states) {
    const room = affordable(state, request);
    if (room < cap) {
      cap = room;
      tightest = state;
    }
  }
  // A lowered cap below the useful minimum is refused, unless the client itself asked for fewer.
  const minimum = request.endpoint === "embeddings" ? 0 : Math.min(request.minOutputTokens, wanted);
  if (cap < minimum || cap < 0) return { kind: "refuse", budget: tightest! };
  const outputCap = request.endpoint === "embeddings" ? null : cap;
  return { kind: "admit", outputCap, ...worstCase(request, cap) };
}
