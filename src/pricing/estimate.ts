/**
 * An upper bound on the prompt tokens an origin will report for a request, computed before the
 * request is sent, so that the budget reservation made at admission is never exceeded at settle.
 *
 * WHY BYTES. Byte-level BPE tokenizers (GPT, Llama 3, Qwen, DeepSeek, Mistral's tekken) have no
 * token shorter than one UTF-8 byte, so a text of b bytes is at most b tokens; typical text runs
 * 3-4 bytes per token, which is the bound's price. SentencePiece tokenizers add at most a leading
 * "▁" per text, which the per-message overhead covers; their NFKC normalisation can expand a few
 * compatibility characters (e.g. U+FDFA) into many, a pathological case this bound ignores.
 *
 * Linear in the body and allocation-free for text: UTF-8 lengths are counted by scanning UTF-16
 * code units, never by encoding. Structured fields (tools, tool calls) are measured as JSON.
 */
import { utf8ByteLength } from "../lib/bytes";
import { isRecord } from "../lib/checks";

/** The fixed costs the bound assumes; each can be overridden per call (e.g. per origin). */
export interface PromptAssumptions {
  /**
   * Template tokens around each message. Chat templates wrap every message in role markers and
   * separators: OpenAI counts 3-4 per message ("<|start|>role<|message|>…<|end|>"), ChatML-style
   * templates ("<|im_start|>role\n…<|im_end|>\n") about 5; 8 leaves room for a name or a tool-call
   * id's markup.
   */
  perMessage: number;
  /**
   * Template tokens once per chat request: BOS, the assistant header that primes the reply (3 for
   * OpenAI) and default system preambles. 16 is a margin, not a maximum: Llama 3.1's default
   * "Cutting Knowledge Date … Today Date …" preamble is ~25 tokens, covered in practice only
   * because real text runs 3-4 bytes per token.
   */
  perRequest: number;
  /**
   * Special tokens around each text input of an embeddings request: BERT-style [CLS]/[SEP],
   * Llama-style BOS/EOS, and SentencePiece's leading "▁". Token-array inputs are counted as given.
   */
  perEmbeddingText: number;
  /**
   * Per image part (`image_url`, `input_image`). An ASSUMPTION, not a bound: OpenAI's high-detail
   * tiles cost 85 + 170 per 512 px tile (≤ 1,105 for 2048×768), but patch-based models go higher
   * (gpt-4.1-mini up to ~2,500, Qwen2-VL up to 16,384 for large images). Override per origin.
   */
  image: number;
  /** Per audio part (`input_audio`, or an assistant message's `audio` reference). An assumption: ~100 s at 10 tokens/s. */
  audio: number;
  /** Per file part (`file`, `input_file`). An assumption: a multi-page PDF can cost far more. */
  file: number;
}

/** The defaults; see {@link PromptAssumptions} for why each value. */
export const DEFAULT_PROMPT_ASSUMPTIONS: Readonly<PromptAssumptions> = Object.freeze({
  perMessage: 8,
  perRequest: 16,
  perEmbeddingText: 4,
  image: 1_600,
  audio: 1_000,
  file: 1_000,
});

/** Top-level chat fields the template renders into the prompt, measured as JSON. */
const JSON_FIELDS = ["tools", "functions", "response_format"] as const;

/** UTF-8 bytes of a value's JSON (which escapes, never shortens, the text inside). */
function jsonBytes(value: unknown): number {
  const json = JSON.stringify(value);
  return json === undefined ? 0 : utf8ByteLength(json);
}

function partTokens(part: unknown, a: PromptAssumptions): number {
  if (!isRecord(part)) return jsonBytes(part);
  switch (part.type) {
    case "text":
    case "input_text":
      return typeof part.text === "string" ? utf8ByteLength(part.text) : jsonBytes(part);
    case "refusal":
      return typeof part.refusal === "string" ? utf8ByteLength(part.refusal) : jsonBytes(part);
    case "image_url":
    case "input_image":
      return a.image;
    case "input_audio":
      return a.audio;
    case "file":
    case "input_file":
      return a.file;
    default:
      // An unknown part may still reach the model; its JSON is a safe ceiling for whatever it carries.
      return jsonBytes(part);
  }
}

function contentTokens(content: unknown, a: PromptAssumptions): number {
  if (typeof content === "string") return utf8ByteLength(content);
  if (!Array.isArray(content)) return jsonBytes(content);
  let tokens = 0;
  for (const part of content) tokens += partTokens(part, a);
  return tokens;
}

/**
 * One message: the overhead, its content, and every other field except `role` as JSON — `name`,
 * `tool_calls` (function names and arguments are rendered into the prompt), `tool_call_id`,
 * `function_call`, `refusal`, provider extras. Over-counting a field the template drops is cheap;
 * missing one it renders would break the bound.
 */
function messageTokens(message: unknown, a: PromptAssumptions): number {
  if (!isRecord(message)) return a.perMessage + jsonBytes(message);
  let tokens = a.perMessage;
  for (const key in message) {
    const value = message[key];
    if (key === "role" || value === null || value === undefined) continue;
    if (key === "content") tokens += contentTokens(value, a);
    else if (key === "audio") tokens += a.audio; // a reference to earlier audio output, replayed as audio tokens
    else tokens += jsonBytes(value);
  }
  return tokens;
}

function embeddingInputTokens(input: unknown, a: PromptAssumptions): number {
  if (typeof input === "string") return a.perEmbeddingText + utf8ByteLength(input);
  if (!Array.isArray(input)) return jsonBytes(input);
  let tokens = 0;
  for (const item of input) {
    if (typeof item === "string") tokens += a.perEmbeddingText + utf8ByteLength(item);
    else if (typeof item === "number") tokens += 1; // one array of token ids: one token each
    else if (Array.isArray(item)) tokens += item.length; // a batch of token arrays
    else tokens += jsonBytes(item);
  }
  return tokens;
}

/**
 * An upper bound on the prompt tokens of an OpenAI chat completions body (`messages`, with string
 * or part-array content, plus `tools` / `functions` / `response_format`) or embeddings body
 * (`input`: string, string[], token array or token arrays). Tolerates any shape: what it does not
 * recognise it measures as JSON.
 *
 * chat:       perRequest + Σ (perMessage + UTF-8 bytes of text + JSON bytes of other fields
 *                             + image / audio / file per media part) + JSON bytes of tools etc.
 * embeddings: Σ (perEmbeddingText + UTF-8 bytes) per text, + length per token array.
 * completions (legacy `prompt`, `suffix`): perRequest + the prompt counted as embeddings input + the suffix's bytes.
 * @example
 * estimatePromptTokensUpperBound({ model: "m", messages: [{ role: "user", content: "hello" }] }) // 16 + 8 + 5 = 29
 * estimatePromptTokensUpperBound({ model: "e", input: ["hi", "ça"] }) // (4 + 2) + (4 + 3) = 13
 * estimatePromptTokensUpperBound({ model: "e", input: [[1, 2, 3], [4]] }) // 4
 */
export function estimatePromptTokensUpperBound(body: unknown, assumptions?: Partial<PromptAssumptions>): number {
  if (!isRecord(body)) return 0;
  const a = assumptions ? { ...DEFAULT_PROMPT_ASSUMPTIONS, ...assumptions } : DEFAULT_PROMPT_ASSUMPTIONS;
  let tokens = 0;
  if (Array.isArray(body.messages)) {
    tokens += a.perRequest;
    for (const message of body.messages) tokens += messageTokens(message, a);
  }
  if (body.input !== undefined && body.input !== null) tokens += embeddingInputTokens(body.input, a);
  // A legacy completion's prompt counts like embeddings input (each text with its special tokens),
  // its suffix as text, and the request's template overhead once.
  if (body.prompt !== undefined && body.prompt !== null) tokens += a.perRequest + embeddingInputTokens(body.prompt, a);
  if (typeof body.suffix === "string") tokens += utf8ByteLength(body.suffix);
  for (const field of JSON_FIELDS) {
    const value = body[field];
    if (value !== undefined && value !== null) tokens += jsonBytes(value);
  }
  return tokens;
}
