/**
 * From how the forwarder's attempt at an origin ended (`AttemptResult`) to what its health sample
 * says, in one table-like switch, so the request path and the probes classify alike.
 */
import type { AttemptResult } from "../proxy/forward";
import type { SampleKind } from "./types";

/**
 * The sample kind of an attempt, or null when it says nothing about the origin's health: no
 * request reached it (its key is not set, or it was skipped while cooling down), or the client
 * went away and the call was cancelled.
 *
 * A 4xx other than 401/403/408/429 is the client's problem (a prompt too long for the model, say)
 * and the origin answered it properly: `ok`. 401/403 mean the origin refuses our key, so every
 * request fails alike: `invalid_response`; so does a 3xx (redirects are never followed). 408 is the
 * origin timing out: `timeout`.
 * @example
 * sampleKindOf(503)            // "status_5xx"
 * sampleKindOf(400)            // "ok"
 * sampleKindOf("cooling_down") // null
 */
export function sampleKindOf(result: AttemptResult): SampleKind | null {
  switch (result) {
    case "timeout":
    case "connect_error":
    case "broken":
    case "invalid_response":
      return result;
    case "no_credentials":
    case "cooling_down":
    case "cancelled": // the client left: says nothing about the origin
      return null;
    default:
      if (result === 429) return "status_429";
      if (result >= 500) return "status_5xx";
      if (result === 401 || result === 403 || (result >= 300 && result < 400)) return "invalid_response";
      if (result === 408) return "timeout";
      return "ok";
  }
}
