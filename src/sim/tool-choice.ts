/**
 * Whether the simulated model calls a function tool, and which one: a fixed rule, so agent code
 * can be tested against exact answers.
 *
 * THE RULE. The function tools are the entries of `tools` shaped `{type: "function", function:
 * {name}}` with a non-empty name; anything else in `tools` is ignored (the simulator tolerates what
 * a lenient server would). Then, by `tool_choice`:
 *   - "none", or no function tools → no call;
 *   - `{type: "function", function: {name}}` → that tool (a name not among the tools is a 400, as
 *     OpenAI answers it);
 *   - "required" → the first function tool;
 *   - "auto", absent, or anything else → the first function tool, unless the last message is a
 *     tool result (role `tool`, or the legacy `function`): then a text answer, so an agent's
 *     loop (call, run the tool, send the result back) ends.
 * A forced choice ("required" or a named function) calls even after a tool result: OpenAI
 * guarantees a call then, and agent SDKs reset `tool_choice` after a call for that reason.
 * One call per answer (`parallel_tool_calls` changes nothing).
 */

/** The function the answer calls, and its `parameters` schema (anything, as the client sent it). */
export interface ToolCallChoice {
  name: string;
  parameters: unknown;
}

/** The outcome of the rule: a call, no call, or a request OpenAI would refuse. */
export type ToolSelection =
  | { kind: "call"; tool: ToolCallChoice }
  | { kind: "none" }
  | { kind: "invalid"; message: string; param: string };

/** The fields of a chat request the rule reads. */
export interface ToolRequest {
  tools?: unknown;
  tool_choice?: unknown;
  messages: ReadonlyArray<{ role: string }>;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** The function tools of a request, in order. */
function functionTools(tools: unknown): ToolCallChoice[] {
  if (!Array.isArray(tools)) return [];
  const out: ToolCallChoice[] = [];
  for (const tool of tools) {
    const fn = record(record(tool)?.function);
    if (record(tool)?.type !== "function" || typeof fn?.name !== "string" || fn.name === "") continue;
    out.push({ name: fn.name, parameters: fn.parameters });
  }
  return out;
}

/**
 * Applies the rule above to a request.
 * @example
 * selectToolCall({ tools: [{ type: "function", function: { name: "f" } }], messages: [{ role: "user" }] })
 * // { kind: "call", tool: { name: "f", parameters: undefined } }
 */
export function selectToolCall(req: ToolRequest): ToolSelection {
  const tools = functionTools(req.tools);
  const choice = req.tool_choice;
  if (choice === "none" || tools.length === 0) return { kind: "none" };
  const named = record(record(choice)?.function)?.name;
  if (record(choice)?.type === "function" && typeof named === "string") {
    const tool = tools.find((t) => t.name === named);
    return tool
      ? { kind: "call", tool }
      : { kind: "invalid", message: `Invalid value for 'tool_choice': no function named '${named}' in 'tools'.`, param: "tool_choice" };
  }
  const first = tools[0]!;
  if (choice === "required") return { kind: "call", tool: first };
  const lastRole = req.messages.at(-1)?.role;
  return lastRole === "tool" || lastRole === "function" ? { kind: "none" } : { kind: "call", tool: first };
}
