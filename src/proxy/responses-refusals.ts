/**
 * Origins configured as speaking the Responses API (`speaksResponses`) that answered a Responses
 * request with 404 or 405: an `openai`-provider origin that is not OpenAI (LiteLLM, Mistral, an
 * older OpenAI-compatible server) has no `/responses`. Such an attempt is retried at once as chat
 * (`forward.ts`); for {@link RESPONSES_REFUSAL_MS} after, this isolate sends that origin chat
 * straight away. Per isolate, as `Cooldowns` is: each isolate learns it from its own traffic, at
 * the cost of one 404 each. Forgotten after a while, so a server upgraded to serve it is used.
 */

/** How long an origin that refused a Responses request is sent chat instead (router clock). */
export const RESPONSES_REFUSAL_MS = 600_000;

export class ResponsesRefusals {
  private readonly until = new Map<string, number>();

  /** `origin` answered a Responses request with 404 or 405 at `now`. */
  refused(origin: string, now: number): void {
    this.until.set(origin, now + RESPONSES_REFUSAL_MS);
  }

  /** Whether `origin` is to be sent chat rather than the Responses API at `now` (a past refusal is forgotten). */
  refuses(origin: string, now: number): boolean {
    const until = this.until.get(origin);
    if (until === undefined) return false;
    if (until > now) return true;
    this.until.delete(origin);
    return false;
  }
}
