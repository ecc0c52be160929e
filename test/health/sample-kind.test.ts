/** Attempt results to sample kinds: every result the forwarder logs, and the ones that are no sample. */
import { describe, expect, it } from "vitest";
import { sampleKindOf } from "../../src/health/sample-kind";
import type { AttemptResult } from "../../src/proxy/forward";

describe("sampleKindOf", () => {
  it.each<[AttemptResult, string | null]>([
    [200, "ok"],
    [400, "ok"], // the client's problem, answered properly by the origin
    [404, "ok"],
    [401, "invalid_response"], // our key refused: every request fails alike
    [403, "invalid_response"],
    [301, "invalid_response"], // redirects are never followed: the origin is not answering
    [307, "invalid_response"],
    [408, "timeout"],
    [429, "status_429"],
    [500, "status_5xx"],
    [503, "status_5xx"],
    ["timeout", "timeout"],
    ["connect_error", "connect_error"],
    ["broken", "broken"],
    ["invalid_response", "invalid_response"],
    ["no_credentials", null],
    ["cooling_down", null],
  ])("%s → %s", (result, kind) => {
    expect(sampleKindOf(result)).toBe(kind);
  });
});
