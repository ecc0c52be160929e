/**
 * Parsing a request body the way a careful server does: JSON, and no deeper than a bound
 * (`lib/json-depth.ts`, shared with the router). What the simulator does with a body recurses
 * (the tools rendered into the prompt, a record served by `/_sim/requests`), so anything deeper
 * than {@link MAX_JSON_DEPTH} is refused up front, with the top-level field that holds the
 * nesting as `param`.
 */
import { MAX_JSON_DEPTH, tooDeepAt } from "../lib/json-depth";

/** A body as the simulator sees it. */
export type ParsedBody =
  | { kind: "empty" }
  | { kind: "invalid" }
  | { kind: "too_deep"; param: string | null }
  | { kind: "ok"; value: unknown };

/**
 * Parses a request body and measures its nesting without recursion.
 * @example
 * parseJsonBody('{"tools":[[[]]]}')                      // { kind: "ok", value: { tools: [[[]]] } }
 * parseJsonBody(`{"tools":${"[".repeat(200)}${"]".repeat(200)}}`) // { kind: "too_deep", param: "tools" }
 */
export function parseJsonBody(text: string): ParsedBody {
  if (text === "") return { kind: "empty" };
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    return { kind: "invalid" };
  }
  const param = tooDeepAt(value, MAX_JSON_DEPTH);
  return param === undefined ? { kind: "ok", value } : { kind: "too_deep", param };
}
