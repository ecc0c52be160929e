/** What an isolate remembers of origins without a Responses API (issue #17): for ten minutes of the router's clock. */
import { describe, expect, it } from "vitest";
import { RESPONSES_REFUSAL_MS, ResponsesRefusals } from "../../src/proxy/responses-refusals";

describe("ResponsesRefusals", () => {
  it("sends an origin that refused chat until ten minutes have passed, then tries it again", () => {
    const refusals = new ResponsesRefusals();
    const at = 1_000_000;
    expect(refusals.refuses("compat", at)).toBe(false);
    refusals.refused("compat", at);
    expect(RESPONSES_REFUSAL_MS).toBe(600_000);
    expect(refusals.refuses("compat", at + RESPONSES_REFUSAL_MS - 1)).toBe(true);
    expect(refusals.refuses("other", at + 1)).toBe(false);
    expect(refusals.refuses("compat", at + RESPONSES_REFUSAL_MS)).toBe(false);
    // Forgotten: a later refusal starts a new ten minutes.
    refusals.refused("compat", at + RESPONSES_REFUSAL_MS + 5);
    expect(refusals.refuses("compat", at + 2 * RESPONSES_REFUSAL_MS)).toBe(true);
  });
});
