/**
 * Parsing a request body the way a careful server does: JSON, and no deeper than a bound.
 *
 * `JSON.parse` is iterative, but what the simulator does next is not: Node's `JSON.stringify`
 * (the tools rendered into the prompt, a record served by `/_sim/requests`) recurses once per
 * level and overflows the stack a few thousand levels down (issue #12, item 9: 100k nested `tools`
 * made the demo answer 502). Real servers bound nesting before any of that and answer 400
 * (serde_json, behind many inference servers, stops at 128; Python's json at ~1,000), so the
 * simulator refuses anything deeper than {@link MAX_JSON_DEPTH} up front, with the top-level
 * field that holds the nesting as `param`.
 */

/** The deepest nesting accepted: the body object itself is level 1 (serde_json's default recursion limit). */
export const MAX_JSON_DEPTH = 128;

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

/**
 * Where `value` nests deeper than `limit` levels: the top-level key (or array index, as text) that
 * holds the excess, null when the top level itself is too deep, undefined when it is within bounds.
 * Walks with an explicit stack and stops at the first excess, so its cost is at most the body's.
 */
function tooDeepAt(value: unknown, limit: number): string | null | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  if (limit < 1) return null;
  const stack: Array<{ node: object; depth: number; top: string }> = [];
  for (const [key, child] of Object.entries(value)) {
    if (typeof child === "object" && child !== null) stack.push({ node: child, depth: 2, top: key });
  }
  while (stack.length > 0) {
    const { node, depth, top } = stack.pop()!;
    if (depth > limit) return top;
    for (const child of Object.values(node)) {
      if (typeof child === "object" && child !== null) stack.push({ node: child, depth: depth + 1, top });
    }
  }
  return undefined;
}
