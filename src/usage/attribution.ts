/**
 * A request's attribution for the usage log (issue #17): OpenAI's `user` and `metadata` from its
 * body (bounded by the request schemas: `user` up to 256 characters, `metadata` up to 16 pairs,
 * keys up to 64 characters, values up to 512), and the tags of its `x-router-tags` header. The
 * header is the router's own: a comma-separated list of at most {@link MAX_TAGS} tags, each 1 to
 * {@link MAX_TAG_CHARS} of letters, digits and `_ - . : /`; repeats count once. Anything else is a
 * 400 naming the header, before any round trip.
 */
import type { Attribution } from "../ledger/types";
import { RouterError } from "../openai/errors";

export const MAX_TAGS = 16;
export const MAX_TAG_CHARS = 64;
const TAG = /^[A-Za-z0-9_\-.:/]+$/;

/**
 * The tags of an `x-router-tags` header, in order, without repeats; throws the 400 a bad one deserves.
 * @example
 * tagsOf("team:search, batch,batch") // ["team:search", "batch"]
 * tagsOf(null)                       // []
 */
export function tagsOf(header: string | null): string[] {
  if (header === null) return [];
  const tags: string[] = [];
  for (const raw of header.split(",")) {
    const tag = raw.trim();
    if (tag === "") continue;
    if (tag.length > MAX_TAG_CHARS || !TAG.test(tag)) {
      throw new RouterError({
        kind: "invalid_body",
        message: `Invalid x-router-tags header: each tag is 1 to ${MAX_TAG_CHARS} letters, digits or '_-.:/', separated by commas.`,
        param: null,
      });
    }
    if (!tags.includes(tag)) tags.push(tag);
  }
  if (tags.length > MAX_TAGS) {
    throw new RouterError({ kind: "invalid_body", message: `Invalid x-router-tags header: at most ${MAX_TAGS} tags.`, param: null });
  }
  return tags;
}

/** The attribution of a validated body (its `user` and `metadata`, already bounded) and its tags. */
export function attributionOf(body: { user?: string | null | undefined; metadata?: Record<string, string> | null | undefined }, tags: string[]): Attribution {
  const metadata = body.metadata && Object.keys(body.metadata).length > 0 ? body.metadata : null;
  return { user: body.user ?? null, metadata, tags };
}
