/**
 * Data boundaries: which origins a request may ever reach. A tenant, a key and the request itself
 * can each restrict it; the restrictions add up (an origin must pass every one), and a request so
 * restricted never reaches another origin, not even in fallback: excluded origins are removed
 * before any ordering happens.
 */
import { z } from "zod";
import type { OriginConfig } from "../config/schema";

export const boundarySchema = z
  .object({
    /** `self-hosted` keeps prompts inside pools we run; `maas` allows providers' APIs. */
    kinds: z.array(z.enum(["maas", "self-hosted"])).min(1).optional(),
    providers: z.array(z.string().min(1).max(32)).min(1).optional(),
    regions: z.array(z.string().min(1).max(64)).min(1).optional(),
    origins: z.array(z.string().min(1).max(64)).min(1).optional(),
  })
  .strict();
export type Boundary = z.infer<typeof boundarySchema>;

/** The first rule of `boundaries` that `origin` breaks, or null when every one allows it. */
export function boundaryViolation(name: string, origin: OriginConfig, boundaries: readonly Boundary[]): string | null {
  for (const b of boundaries) {
    if (b.kinds && !b.kinds.includes(origin.kind)) return `kind ${origin.kind} not in [${b.kinds.join(", ")}]`;
    if (b.providers && !b.providers.includes(origin.provider)) return `provider ${origin.provider} not in [${b.providers.join(", ")}]`;
    if (b.regions && (origin.region === undefined || !b.regions.includes(origin.region))) {
      return `region ${origin.region ?? "(none)"} not in [${b.regions.join(", ")}]`;
    }
    if (b.origins && !b.origins.includes(name)) return `origin not in [${b.origins.join(", ")}]`;
  }
  return null;
}

/**
 * A request's own boundary, from the `x-router-boundary` header:
 * `kind=self-hosted; region=eu,us; provider=vllm; origin=pool-a`. Null when absent; an error
 * message when malformed.
 */
export function parseBoundaryHeader(value: string | null): Boundary | null | { error: string } {
  if (value === null || value.trim() === "") return null;
  const out: Record<string, string[]> = {};
  const names: Record<string, keyof Boundary> = { kind: "kinds", provider: "providers", region: "regions", origin: "origins" };
  for (const part of value.split(";")) {
    const [rawKey, rawValue] = part.split("=", 2);
    const key = names[(rawKey ?? "").trim().toLowerCase()];
    const values = (rawValue ?? "").split(",").map((v) => v.trim()).filter(Boolean);
    if (!key || values.length === 0) return { error: `'${part.trim()}' is not kind=, provider=, region= or origin= with values` };
    out[key] = values;
  }
  const parsed = boundarySchema.safeParse(out);
  return parsed.success ? parsed.data : { error: parsed.error.issues[0]!.message };
}
