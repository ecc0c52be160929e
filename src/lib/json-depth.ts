/**
 * How deep a parsed JSON value nests, measured without recursion.
 *
 * `JSON.parse` is iterative, but `JSON.stringify` and every walk over a value recurse once per
 * level, and overflow the stack a few thousand levels down (a `RangeError`). A body that nests
 * that deep is refused at the door with a 400, before anything recurses over it: the simulator
 * (issue #12, item 9: 100k nested `tools` made the demo answer 502) and the router alike
 * (10k nested levels in a chat field made the router report its origins unreachable, and a
 * Responses input item made it answer 500 after the origin had answered and been paid).
 * Real servers bound nesting the same way (serde_json, behind many inference servers, takes 127
 * levels; Python's json about 1,000).
 */

/** The deepest nesting accepted: the body object itself is level 1 (about serde_json's recursion limit, 128, which takes 127). */
export const MAX_JSON_DEPTH = 128;

/**
 * Where `value` nests deeper than `limit` levels: the top-level key (or array index, as text) that
 * holds the excess, null when the top level itself is too deep, undefined when it is within bounds.
 * Walks with an explicit stack and stops at the first excess, so its cost is at most the body's:
 * a chat request's few objects take a fraction of a microsecond, 200 messages about 20 µs (on Node).
 * @example
 * tooDeepAt({ tools: [[[]]] }, 128)              // undefined
 * tooDeepAt({ tools: nested(200) }, 128)         // "tools"
 */
export function tooDeepAt(value: unknown, limit: number = MAX_JSON_DEPTH): string | null | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  if (limit < 1) return null;
  // Pending containers, three slots each: the node, its depth, and the top-level field that holds it.
  const stack: unknown[] = [];
  pushChildren(stack, value, 2, null);
  while (stack.length > 0) {
    const top = stack.pop() as string;
    const depth = stack.pop() as number;
    const node = stack.pop() as object;
    if (depth > limit) return top;
    pushChildren(stack, node, depth + 1, top);
  }
  return undefined;
}

/** Pushes `node`'s own children that are containers, at `depth`, under `top` (null: each its own key or index). */
function pushChildren(stack: unknown[], node: object, depth: number, top: string | null): void {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const child: unknown = node[i];
      if (typeof child === "object" && child !== null) stack.push(child, depth, top ?? String(i));
    }
  } else {
    for (const key in node) {
      const child: unknown = (node as Record<string, unknown>)[key];
      if (typeof child === "object" && child !== null && Object.hasOwn(node, key)) stack.push(child, depth, top ?? key);
    }
  }
}
