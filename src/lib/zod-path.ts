/**
 * Renders a zod issue path the way OpenAI names a `param`: `messages[0].content`.
 *
 * @example
 * formatPath(["messages", 0, "role"]); // "messages[0].role"
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}
