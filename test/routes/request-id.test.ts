/** The request id: `req_` and a random UUID's hex digits, cut out without a regex. */
import { expect, it } from "vitest";
import { requestIdOf } from "../../src/app";

it("is the UUID with its dashes removed", () => {
  for (let i = 0; i < 1000; i++) {
    const uuid = crypto.randomUUID();
    expect(requestIdOf(uuid)).toBe(`req_${uuid.replace(/-/g, "")}`);
  }
  expect(requestIdOf("01234567-89ab-cdef-0123-456789abcdef")).toBe("req_0123456789abcdef0123456789abcdef");
});
