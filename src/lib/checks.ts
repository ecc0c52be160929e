/**
 * Checks of values whose type is not known (parsed JSON, RPC input), shared by the hand-written
 * validators (the chat and health-report fast paths) and the config's walkers.
 */

/** A plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A safe integer in `[min, max]` (what zod's `.int().min().max()` accepts). */
export const intIn = (v: unknown, min: number, max: number): boolean => typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max;

/** A finite number in `[min, max]`. */
export const numberIn = (v: unknown, min: number, max: number): boolean => typeof v === "number" && Number.isFinite(v) && v >= min && v <= max;
