/**
 * The conversation items of the Responses API that translate to chat completions: messages (with
 * their content parts), function calls and function call outputs
 * (https://platform.openai.com/docs/api-reference/responses/create, `input`). The same schemas read
 * a request's `input` and the items the router stored from earlier responses.
 *
 * Anything else is refused with a message naming it: built-in tool calls (`web_search_call`,
 * `file_search_call`, `computer_call`, ...) have no chat equivalent, and `item_reference` would need
 * items the request does not carry. `reasoning` items are accepted and dropped: chat completions
 * have no place for them, and clients such as Codex send them back on every turn.
 */
import { z } from "zod";

/** The type of `value` when it is an object that names one, for error messages. */
export function typeNamed(value: unknown): string {
  const type = typeof value === "object" && value !== null && "type" in value ? value.type : undefined;
  return typeof type === "string" ? `'${type}'` : "untyped";
}

const inputText = z.looseObject({ type: z.literal("input_text"), text: z.string() });
const inputImage = z.looseObject({
  type: z.literal("input_image"),
  image_url: z.string().nullish(),
  file_id: z.string().nullish(),
  detail: z.enum(["low", "high", "auto", "original"]).nullish(),
});
const inputFile = z.looseObject({
  type: z.literal("input_file"),
  file_id: z.string().nullish(),
  file_data: z.string().nullish(),
  file_url: z.string().nullish(),
  filename: z.string().nullish(),
});
const outputText = z.looseObject({ type: z.literal("output_text"), text: z.string() });
const refusal = z.looseObject({ type: z.literal("refusal"), refusal: z.string() });

const PART_TYPES = "input_text, input_image, input_file, output_text, refusal";

/** One part of a message's content. */
export const contentPartSchema = z.discriminatedUnion("type", [inputText, inputImage, inputFile, outputText, refusal], {
  error: (iss) => (iss.code === "invalid_union" ? `${typeNamed(iss.input)} content parts are not supported; supported: ${PART_TYPES}.` : undefined),
});
/** A content part. */
export type ContentPart = z.infer<typeof contentPartSchema>;

/**
 * Which parts each role may carry once translated: chat completions take images and files from
 * users only, and an assistant's turn is text (or a refusal).
 */
const PARTS_BY_ROLE: Readonly<Record<"user" | "assistant" | "system" | "developer", readonly ContentPart["type"][]>> = {
  user: ["input_text", "input_image", "input_file"],
  assistant: ["input_text", "output_text", "refusal"],
  system: ["input_text"],
  developer: ["input_text"],
};

/** A message item (`type` may be left out, as OpenAI's `EasyInputMessage` allows). */
export const messageItemSchema = z
  .looseObject({
    type: z.literal("message").optional(),
    role: z.enum(["user", "assistant", "system", "developer"]),
    content: z.union([z.string(), z.array(contentPartSchema)]),
  })
  .superRefine((item, ctx) => {
    if (typeof item.content === "string") return;
    item.content.forEach((part, i) => {
      if (!PARTS_BY_ROLE[item.role].includes(part.type)) {
        ctx.addIssue({ code: "custom", path: ["content", i, "type"], message: `'${part.type}' parts are not supported in a '${item.role}' message.` });
      } else if (part.type === "input_image" && !part.image_url) {
        // Chat completions take an image by URL (or data URL) only, not by file id.
        ctx.addIssue({ code: "custom", path: ["content", i, "image_url"], message: "an image needs 'image_url' here; images by 'file_id' are not supported." });
      } else if (part.type === "input_file" && !part.file_id && !part.file_data) {
        ctx.addIssue({ code: "custom", path: ["content", i], message: "a file needs 'file_id' or 'file_data' here; files by 'file_url' are not supported." });
      }
    });
  });
/** A message item. */
export type MessageItem = z.infer<typeof messageItemSchema>;

/** A function call the model made (an output item, sent back as input on the next turn). */
export const functionCallItemSchema = z.looseObject({
  type: z.literal("function_call"),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
  id: z.string().nullish(),
});
/** A function call item. */
export type FunctionCallItem = z.infer<typeof functionCallItemSchema>;

/** The client's result of a function call; chat completions take text only. */
export const functionCallOutputItemSchema = z.looseObject({
  type: z.literal("function_call_output"),
  call_id: z.string().min(1),
  output: z.union([
    z.string(),
    z.array(
      z.discriminatedUnion("type", [inputText], {
        error: (iss) => (iss.code === "invalid_union" ? `${typeNamed(iss.input)} parts are not supported in a function call output; only input_text.` : undefined),
      }),
    ),
  ]),
});
/** A function call output item. */
export type FunctionCallOutputItem = z.infer<typeof functionCallOutputItemSchema>;

/** A reasoning item: accepted, dropped in translation. */
export const reasoningItemSchema = z.looseObject({ type: z.literal("reasoning") });

const ITEM_TYPES = "message, function_call, function_call_output (and reasoning, which is dropped)";

/** One input item. */
export const inputItemSchema = z.discriminatedUnion("type", [messageItemSchema, functionCallItemSchema, functionCallOutputItemSchema, reasoningItemSchema], {
  error: (iss) => (iss.code === "invalid_union" ? `${typeNamed(iss.input)} items are not supported by this router; supported: ${ITEM_TYPES}.` : undefined),
});
/** An input item, as validated. */
export type InputItem = z.infer<typeof inputItemSchema>;
