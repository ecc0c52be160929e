/**
 * Responses API items as chat completions messages
 * (https://platform.openai.com/docs/api-reference/chat/create, `messages`).
 *
 * THE MAPPING, item by item, in order:
 * - a `user`, `system` or `developer` message keeps its role; string content stays a string, parts
 *   map one to one: `input_text` → `{type: "text"}`, `input_image` → `{type: "image_url", image_url:
 *   {url, detail}}` (`detail: "original"`, which chat does not know, is left out), `input_file` →
 *   `{type: "file", file: {file_id, file_data, filename}}`;
 * - an `assistant` message becomes an assistant message whose content is its text parts joined
 *   (a string, as every chat server takes it) and whose `refusal` is its refusal parts joined;
 * - `function_call` items join the assistant message right before them as `tool_calls` (`id` is
 *   the `call_id`), or open one with `content: null`: chat wants a turn's text and calls in one
 *   message, and parallel calls in one `tool_calls` list;
 * - `function_call_output` → `{role: "tool", tool_call_id, content}` (text parts map as above);
 * - `reasoning` items are dropped.
 */
import type { ContentPart, InputItem } from "./items";

/** A text part of a chat message. */
export interface ChatTextPart {
  type: "text";
  text: string;
}

/** A content part of a chat user message. */
export type ChatContentPart =
  | ChatTextPart
  | { type: "image_url"; image_url: { url: string; detail?: "low" | "high" | "auto" } }
  | { type: "file"; file: { file_id?: string; file_data?: string; filename?: string } };

/** A chat tool call, as an assistant message carries it. */
export interface ChatToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** A chat assistant message. */
export interface ChatAssistantMessage {
  role: "assistant";
  content: string | null;
  refusal?: string;
  tool_calls?: ChatToolCall[];
}

/** A chat message. */
export type ChatMessage =
  | { role: "system"; content: string | ChatTextPart[] }
  | { role: "developer"; content: string | ChatTextPart[] }
  | { role: "user"; content: string | ChatContentPart[] }
  | ChatAssistantMessage
  | { role: "tool"; tool_call_id: string; content: string | ChatTextPart[] };

function chatPart(part: ContentPart): ChatContentPart | null {
  switch (part.type) {
    case "input_text":
    case "output_text":
      return { type: "text", text: part.text };
    case "input_image": {
      const detail = part.detail === "low" || part.detail === "high" || part.detail === "auto" ? part.detail : undefined;
      return { type: "image_url", image_url: { url: part.image_url ?? "", ...(detail ? { detail } : {}) } };
    }
    case "input_file":
      return {
        type: "file",
        file: {
          ...(part.file_id != null ? { file_id: part.file_id } : {}),
          ...(part.file_data != null ? { file_data: part.file_data } : {}),
          ...(part.filename != null ? { filename: part.filename } : {}),
        },
      };
    case "refusal":
      // Only assistant messages carry refusals (items.ts); they become the message's `refusal`.
      return null;
  }
}

function assistantMessage(content: string | readonly ContentPart[]): ChatAssistantMessage {
  if (typeof content === "string") return { role: "assistant", content };
  const text = content.flatMap((p) => (p.type === "input_text" || p.type === "output_text" ? [p.text] : [])).join("");
  const refusal = content.flatMap((p) => (p.type === "refusal" ? [p.refusal] : [])).join("");
  return { role: "assistant", content: text === "" && refusal !== "" ? null : text, ...(refusal !== "" ? { refusal } : {}) };
}

/**
 * The chat messages for a list of items (the mapping above).
 * @example
 * itemsToMessages([{ role: "user", content: "hi" }, { type: "function_call", call_id: "c1", name: "f", arguments: "{}" }])
 * // [{ role: "user", content: "hi" }, { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }] }]
 */
export function itemsToMessages(items: readonly InputItem[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  // The assistant message a function call joins: the last message, when it is the assistant's.
  let turn: ChatAssistantMessage | null = null;
  for (const item of items) {
    if (item.type === "reasoning") continue;
    if (item.type === "function_call") {
      const call: ChatToolCall = { id: item.call_id, type: "function", function: { name: item.name, arguments: item.arguments } };
      if (turn) (turn.tool_calls ??= []).push(call);
      else {
        turn = { role: "assistant", content: null, tool_calls: [call] };
        messages.push(turn);
      }
      continue;
    }
    if (item.type === "function_call_output") {
      const content = typeof item.output === "string" ? item.output : item.output.map((p): ChatTextPart => ({ type: "text", text: p.text }));
      messages.push({ role: "tool", tool_call_id: item.call_id, content });
      turn = null;
      continue;
    }
    if (item.role === "assistant") {
      turn = assistantMessage(item.content);
      messages.push(turn);
      continue;
    }
    if (item.role === "user") {
      messages.push({ role: "user", content: typeof item.content === "string" ? item.content : item.content.flatMap((p) => chatPart(p) ?? []) });
    } else {
      // items.ts lets system and developer messages carry text parts only.
      const content = typeof item.content === "string" ? item.content : item.content.flatMap((p): ChatTextPart[] => (p.type === "input_text" ? [{ type: "text", text: p.text }] : []));
      messages.push(item.role === "system" ? { role: "system", content } : { role: "developer", content });
    }
    turn = null;
  }
  return messages;
}
