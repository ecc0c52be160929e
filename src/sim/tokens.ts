/**
 * The simulator's tokenizer: approximate, but exact enough to predict, so tests can compute
 * `prompt_tokens` by hand.
 *
 * THE RULE. A chat prompt is rendered as the origin sees it:
 *
 *   rendering = model
 *             + (tools neither absent nor null ? JSON.stringify(tools) : "")
 *             + for each message, in order: "<|" + role + "|>" + text(content)
 *                 + (tool_calls neither absent nor null ? JSON.stringify(tool_calls) : "")
 *                 + (tool_call_id is a string ? tool_call_id : "")
 *
 * An assistant's tool calls and a tool result's call id are part of the conversation a cache holds:
 * two conversations that called a tool with different arguments share no prefix past that point.
 *
 * Tools come before the messages because real chat templates put them there (Qwen's and Hermes'
 * templates write the tool definitions into the system section at the very start), so a fixed tool
 * list is part of the shared prefix a prefix cache can hit, and changing it misses from the start.
 *
 * There are no separators. text(content) is the string itself, the `text` of every part whose
 * `type` is "text" concatenated (array content), or "" (null / absent content). Then
 *
 *   prompt_tokens = ceil(utf8ByteLength(rendering) / 4)
 *
 * Token i is bytes [4i, 4i + 4) of the rendering; the last token may be shorter. Example:
 * model "m", one user message "hello" → "m<|user|>hello" = 14 bytes → 4 tokens.
 */

/** Bytes of UTF-8 per simulated token. */
export const BYTES_PER_TOKEN = 4;

/** A content part of an OpenAI message (only `text` parts contribute to the rendering). */
export interface ContentPart {
  type: string;
  text?: string | undefined;
}

/** The fields of a chat message the rendering reads. */
export interface RenderableMessage {
  role: string;
  content?: string | readonly ContentPart[] | null | undefined;
  tool_calls?: unknown;
  tool_call_id?: unknown;
}

/** The fields of a chat request the rendering reads. */
export interface RenderablePrompt {
  model: string;
  messages: readonly RenderableMessage[];
  tools?: unknown;
}

const encoder = new TextEncoder();

/** The text of a message's content: the string, or its text parts concatenated. */
export function contentText(content: RenderableMessage["content"]): string {
  if (typeof content === "string") return content;
  if (!content) return "";
  let out = "";
  for (const part of content) if (part.type === "text" && typeof part.text === "string") out += part.text;
  return out;
}

/**
 * Renders a chat prompt as the origin sees it (the rule in this file's header).
 * @example
 * renderChatPrompt({ model: "m", messages: [{ role: "user", content: "hello" }] }) // "m<|user|>hello"
 * renderChatPrompt({ model: "m", tools: [1], messages: [{ role: "user", content: "hi" }] }) // "m[1]<|user|>hi"
 * renderChatPrompt({ model: "m", messages: [{ role: "tool", tool_call_id: "c1", content: "42" }] }) // "m<|tool|>42c1"
 */
export function renderChatPrompt(prompt: RenderablePrompt): string {
  let out = prompt.model;
  if (prompt.tools != null) out += JSON.stringify(prompt.tools);
  for (const m of prompt.messages) {
    out += `<|${m.role}|>${contentText(m.content)}`;
    if (m.tool_calls != null) out += JSON.stringify(m.tool_calls);
    if (typeof m.tool_call_id === "string") out += m.tool_call_id;
  }
  return out;
}

/** UTF-8 encoding of a string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Tokens in a number of UTF-8 bytes: `ceil(bytes / 4)`.
 * @example
 * tokensForBytes(14) // 4
 */
export function tokensForBytes(byteLength: number): number {
  return Math.ceil(byteLength / BYTES_PER_TOKEN);
}

/** Tokens in a string: `ceil(utf8ByteLength(text) / 4)`. */
export function countTokens(text: string): number {
  return tokensForBytes(utf8(text).byteLength);
}

/**
 * Generated text cut into completion tokens: consecutive code points, at most 4 UTF-8 bytes each
 * (a code point is never split, so every piece is valid text on its own). ASCII text of L bytes
 * gives ceil(L / 4) pieces. Tool-call arguments and JSON outputs are streamed and counted this way.
 * @example
 * completionPieces('{"a":1}') // ['{"a"', ':1}']
 */
export function completionPieces(text: string): string[] {
  const pieces: string[] = [];
  let piece = "";
  let bytes = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + size > BYTES_PER_TOKEN && piece !== "") {
      pieces.push(piece);
      piece = "";
      bytes = 0;
    }
    piece += ch;
    bytes += size;
  }
  if (piece !== "") pieces.push(piece);
  return pieces;
}
