/**
 * Deterministic log probabilities for a completion's tokens, in OpenAI's chat shape
 * (`choices[].logprobs.content[]`: `token`, `logprob`, `bytes`, `top_logprobs`;
 * https://platform.openai.com/docs/api-reference/chat/object).
 *
 * THE RULE, per choice, from PRNGs seeded with the choice's seed: each token's logprob is
 * −(0.001 + 2r) rounded to 6 decimals (r in [0, 1), so in (−2.001, −0.001]); its `top_logprobs`
 * (as many as `top_logprobs` asks, 0 to 20) are the token itself first, then vocabulary words
 * ("word ") other than the token, from a seeded starting word on, each less likely than the one
 * before by 0.1 + 1.5r (r from a PRNG of the token's position, so asking for more alternatives
 * only appends).
 * `bytes` is the token's UTF-8 encoding.
 */
import { mulberry32 } from "./hash";
import { VOCABULARY } from "./text";
import { utf8 } from "./tokens";

/** One alternative token at a position. */
export interface TopLogprob {
  token: string;
  logprob: number;
  bytes: number[];
}

/** One generated token and its alternatives. */
export interface TokenLogprob extends TopLogprob {
  top_logprobs: TopLogprob[];
}

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/**
 * The logprobs of `tokens`, with `top` alternatives each (the token itself included).
 * @example
 * tokenLogprobs(["the ", "fox "], 42, 2)[0] // { token: "the ", logprob: -1.23…, bytes: [116,104,101,32], top_logprobs: [2 entries] }
 */
export function tokenLogprobs(tokens: readonly string[], seed: number, top: number): TokenLogprob[] {
  const next = mulberry32(seed ^ 0x6c6f6770); // "logp": a stream apart from the text's own
  return tokens.map((token, position) => {
    const logprob = -round6(0.001 + next() * 2);
    // Alternatives come from a stream of their own per position: a token's logprob does not depend
    // on how many alternatives were asked for, and k alternatives are the first k of k + 1.
    const alt = mulberry32((seed ^ 0x616c7473) + Math.imul(position + 1, 0x9e3779b1));
    const top_logprobs: TopLogprob[] = top > 0 ? [{ token, logprob, bytes: bytesOf(token) }] : [];
    let at = Math.floor(alt() * VOCABULARY.length);
    let lp = logprob;
    while (top_logprobs.length < top) {
      const word = `${VOCABULARY[at % VOCABULARY.length]} `;
      at++;
      if (word === token) continue;
      lp = round6(lp - (0.1 + alt() * 1.5));
      top_logprobs.push({ token: word, logprob: lp, bytes: bytesOf(word) });
    }
    return { token, logprob, bytes: bytesOf(token), top_logprobs };
  });
}

function bytesOf(token: string): number[] {
  return Array.from(utf8(token));
}
