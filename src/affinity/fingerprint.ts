/**
 * Prefix fingerprints (DESIGN §5): the request rendered as the origin will see it, cut into
 * fixed-size blocks, each block named by a hash chained over every block before it:
 *
 *   h_0 = H(seed ‖ block_0),  h_i = H(h_{i-1} ‖ block_i)
 *
 * so two requests share `h_i` exactly when their first i+1 blocks are equal: a change anywhere
 * changes every later block's name. Linear in the prompt's length, capped at `MAX_BLOCKS`.
 *
 * The rendering puts what chat templates put first first: the model, then the tools (Qwen's and
 * Hermes' templates place tool definitions in the system section), then every message in order
 * (role, content, tool calls). Tokens are estimated as 4 bytes of UTF-8 each, like the rest of
 * the router; an origin's own tokenizer decides its real block boundaries, which is why matches
 * are rounded down to what each origin can reuse (see `reuse.ts`).
 *
 * H is two lanes of MurmurHash3's 32-bit block function over little-endian words, seeded by the
 * previous block's two halves; 53 bits of the pair are kept, so a name is an exact JS number (a
 * Map key and an SQLite INTEGER). Not cryptographic, and it need not be: the index is per
 * tenant, so a collision can only misroute that tenant's own request to a colder cache.
 */
import { utf8ByteLength } from "../lib/bytes";
import { fmix32 } from "./placement";

/** Bytes per block: 64 tokens at 4 bytes a token. */
export const BLOCK_BYTES = 256;
export const BLOCK_TOKENS = BLOCK_BYTES / 4;
/** Blocks hashed at most (32,768 tokens); a longer prompt's tail is not fingerprinted. */
export const MAX_BLOCKS = 512;
/** Besides message ends, every this many blocks is a checkpoint (1,024 tokens). */
const CHECKPOINT_EVERY = 16;

/** A request's fingerprint. */
export interface Fingerprint {
  /** `blocks[i]` names the prefix of i+1 full blocks. */
  blocks: number[];
  /**
   * Indexes into `blocks` worth remembering for this prompt: the last full block of each message
   * (where a later request most likely diverges: a new user turn, another question after the
   * same system prompt), every 16th block, and the last one. The index stores these, not every
   * block: a request costs one upsert per message end and per 1,024 tokens (a 32k-token prompt of
   * 20 messages: about 50), not one per 64-token block.
   */
  checkpoints: number[];
  /**
   * The prefix anchor: a hash of the preamble (model, tools, leading system/developer messages,
   * or the first message when there is none). Requests sharing it share their most reused
   * prefix; cold prefixes are placed by it, and OpenAI's `prompt_cache_key` is derived from it.
   */
  anchor: number;
  /**
   * The conversation's anchor: the preamble and the first message after it. Every turn of one
   * conversation shares it while requests that only share a system prompt do not, so placing cold
   * requests by it spreads new conversations and keeps each one's turns together.
   */
  conversation: number;
  /** Estimated prompt tokens of the whole rendering (4 bytes each). */
  promptTokens: number;
  /** Estimated tokens of the preamble (what `anchor` names). */
  preambleTokens: number;
}

/** The fields of a chat request the rendering reads. */
export interface FingerprintInput {
  model: string;
  messages: readonly unknown[];
  tools?: unknown;
}

const encoder = new TextEncoder();
const MAX_BYTES = MAX_BLOCKS * BLOCK_BYTES;
const LEADING_ROLES = new Set(["system", "developer"]);

/** A request rendered: its first `length` bytes (at most `MAX_BYTES`), all its bytes counted, where each message ends. */
export interface Rendered {
  /** Its length is a multiple of 4 (read as 32-bit words) and at least `length`. */
  bytes: Uint8Array;
  length: number;
  /** Bytes rendered in all, the capped-off tail included. */
  total: number;
  /** `length` after each message. */
  ends: number[];
}

/**
 * A growing byte buffer that keeps UTF-8 as it is encoded, to the cap, and counts every byte
 * beyond it. Its backing store is a multiple of 4 bytes, so it can be read as 32-bit words.
 */
class Rendering {
  bytes = new Uint8Array(4096);
  length = 0;
  total = 0;

  append(text: string): void {
    if (text.length === 0) return;
    if (this.length >= MAX_BYTES) {
      this.total += utf8ByteLength(text);
      return;
    }
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    const need = Math.min(MAX_BYTES, this.length + text.length * 3);
    if (need > this.bytes.length) {
      const grown = new Uint8Array(Math.min(MAX_BYTES + 8, Math.max(need, this.bytes.length * 2) + 8) & ~3);
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    const { read, written } = encoder.encodeInto(text, this.bytes.subarray(this.length, MAX_BYTES));
    this.length += written;
    this.total += written + (read < text.length ? utf8ByteLength(text.slice(read)) : 0);
  }
}

function roleOf(message: unknown): string {
  const role = typeof message === "object" && message !== null ? (message as { role?: unknown }).role : undefined;
  return typeof role === "string" ? role : "";
}

/** What a message contributes: its role, its content (text as is, parts as JSON), tool calls and ids. */
function renderMessage(out: { append(text: string): void }, message: unknown): void {
  if (typeof message !== "object" || message === null) return;
  const m = message as Record<string, unknown>;
  out.append(`<|${roleOf(m)}|>`);
  if (typeof m.name === "string") out.append(m.name);
  if (typeof m.content === "string") out.append(m.content);
  else if (m.content != null) out.append(JSON.stringify(m.content));
  if (m.tool_calls != null) out.append(JSON.stringify(m.tool_calls));
  if (typeof m.tool_call_id === "string") out.append(m.tool_call_id);
}

/**
 * Renders the request's pieces into `out` in their order (the model, the tools, each message), and
 * returns `position()` after each message: the one rendering both encodings below share.
 */
function renderPieces(out: { append(text: string): void }, request: FingerprintInput, position: () => number): number[] {
  out.append(request.model);
  if (request.tools != null) out.append(JSON.stringify(request.tools));
  const ends: number[] = [];
  for (const message of request.messages) {
    renderMessage(out, message);
    ends.push(position());
  }
  return ends;
}

/** Renders piece by piece, each encoded as it comes: right for any text. */
export function renderEach(request: FingerprintInput): Rendered {
  const out = new Rendering();
  const ends = renderPieces(out, request, () => out.length);
  return { bytes: out.bytes, length: out.length, total: out.total, ends };
}

const NON_ASCII = /[^\x00-\x7f]/;

/** Collects the pieces as one string, and where each message ends in it. */
class Joined {
  text = "";
  append(text: string): void {
    this.text += text;
  }
}

/**
 * Renders the request as one string encoded at once (one call into the runtime instead of one per
 * piece); null when that would differ from {@link renderEach}, which is then used: unless the
 * whole text is ASCII (a UTF-16 unit each, so positions in the string are positions in the bytes,
 * and the size past the cap is the tail's length), or all but its part past the cap when that is
 * encoded alone (see {@link renderEach}).
 */
export function renderJoined(request: FingerprintInput): Rendered | null {
  const out = new Joined();
  const ends = renderPieces(out, request, () => out.text.length);
  const { text } = out;
  const bytes = new Uint8Array((Math.min(text.length, MAX_BYTES) + 3) & ~3);
  const { read, written } = encoder.encodeInto(text, bytes.subarray(0, MAX_BYTES));
  if (written !== read || (read < text.length && written !== MAX_BYTES)) return null;
  // Past the cap only the size counts, and it is the joined text's only when that text is ASCII:
  // lone surrogates ending one piece and starting the next join into one character (4 bytes,
  // where each piece encoded alone gives 3 + 3).
  const tail = read < text.length ? text.slice(read) : "";
  if (NON_ASCII.test(tail)) return null;
  for (let i = 0; i < ends.length; i++) if (ends[i]! > written) ends[i] = written;
  return { bytes, length: written, total: written + tail.length, ends };
}

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** MurmurHash3 x86_32 over `words[from, to)` with `seed`, finalized with the block's length. */
function murmur(words: Uint32Array, from: number, to: number, seed: number): number {
  let h = seed;
  for (let i = from; i < to; i++) {
    let k = Math.imul(words[i]!, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return fmix32(h ^ ((to - from) * 4));
}

/** 53 bits of two 32-bit lanes: an exact JS number. */
function join53(hi: number, lo: number): number {
  return (hi & 0x1fffff) * 0x1_0000_0000 + lo;
}

/**
 * The name of the prefix `[0, end)` when `end` need not fall on a block boundary: the chain hash of
 * its full blocks, continued over the bytes after them. Two prefixes get one name exactly when
 * they are equal (up to collisions), even when they differ only past their last full block.
 */
function prefixName(bytes: Uint8Array, blocks: readonly number[], end: number): number {
  const from = Math.floor(end / BLOCK_BYTES) * BLOCK_BYTES;
  const previous = from > 0 ? blocks[from / BLOCK_BYTES - 1]! : null;
  if (previous !== null && from === end) return previous;
  // The tail's bytes as little-endian words, zero-padded (less than a block: at most 64 words).
  const count = (end - from + 3) >> 2;
  const words = TAIL_WORDS.fill(0, 0, count);
  for (let i = 0; i < end - from; i++) words[i >> 2]! |= bytes[from + i]! << ((i & 3) * 8);
  const hi = previous === null ? 0x5bd1e995 : Math.floor(previous / 0x1_0000_0000);
  const lo = previous === null ? 0x27d4eb2f : previous >>> 0;
  // The length is mixed in: zero padding must not make "a" and "a\0" one name.
  return join53(murmur(words, 0, count, hi ^ (end - from)), murmur(words, 0, count, lo ^ 0x85ebca6b ^ (end - from)));
}

/** Scratch words for {@link prefixName}: filled and read within one call. */
const TAIL_WORDS = new Uint32Array(BLOCK_BYTES / 4);

/**
 * Fingerprints a chat request.
 *
 * @example
 * const a = fingerprint({ model: "chat", messages: [system, user1] });
 * const b = fingerprint({ model: "chat", messages: [system, user1, assistant1, user2] });
 * a.blocks.every((h, i) => h === b.blocks[i]); // true: b extends a's prefix
 */
export function fingerprint(request: FingerprintInput): Fingerprint {
  const out = renderJoined(request) ?? renderEach(request);
  const { ends } = out;
  // The preamble: the leading system/developer messages, or the first message when none leads.
  let leading = 0;
  while (leading < request.messages.length && LEADING_ROLES.has(roleOf(request.messages[leading]))) leading++;
  const preambleMessages = leading > 0 ? leading : Math.min(1, request.messages.length);
  const endOf = (messages: number) => (messages > 0 ? ends[Math.min(messages, ends.length) - 1]! : out.length);
  const preambleEnd = endOf(preambleMessages);
  const conversationEnd = endOf(leading > 0 ? leading + 1 : preambleMessages);

  const full = Math.floor(out.length / BLOCK_BYTES);
  // Only with a block to hash: the buffer of a small array may have to be made first.
  const words = full > 0 ? new Uint32Array(out.bytes.buffer, out.bytes.byteOffset, full * (BLOCK_BYTES / 4)) : new Uint32Array(0);
  const blocks = new Array<number>(full);
  let hi = 0x9747b28c;
  let lo = 0x3c6ef372;
  const perBlock = BLOCK_BYTES / 4;
  for (let i = 0; i < full; i++) {
    const from = i * perBlock;
    const nextLo = murmur(words, from, from + perBlock, lo);
    hi = murmur(words, from, from + perBlock, hi ^ 0x85ebca6b);
    lo = nextLo;
    blocks[i] = join53(hi, lo);
  }

  const marks = new Set<number>();
  for (const end of ends) if (end >= BLOCK_BYTES) marks.add(Math.floor(end / BLOCK_BYTES) - 1);
  for (let i = CHECKPOINT_EVERY - 1; i < full; i += CHECKPOINT_EVERY) marks.add(i);
  if (full > 0) marks.add(full - 1);
  const checkpoints = [...marks].filter((i) => i < full).sort((a, b) => a - b);

  return {
    blocks,
    checkpoints,
    anchor: prefixName(out.bytes, blocks, preambleEnd),
    conversation: prefixName(out.bytes, blocks, conversationEnd),
    promptTokens: Math.ceil(out.total / 4),
    preambleTokens: Math.ceil(preambleEnd / 4),
  };
}
