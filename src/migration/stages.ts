/**
 * Which stage moves are allowed. Forward one stage at a time (each stage measures what the next
 * one risks); back to any earlier stage (a retreat only takes traffic off the candidate); to
 * `rolled-back` from anywhere; from `rolled-back` back into the shadow stages only, so a candidate
 * that was rolled back passes evals again before it serves anyone. Pure.
 */
import { STAGES, type Stage } from "./schema";

/** The ordered stages; `rolled-back` stands apart. */
const ORDER: readonly Stage[] = STAGES.filter((s) => s !== "rolled-back");

export type MoveKind = "forward" | "back" | "rollback" | "restart";
export type MoveCheck = { ok: true; kind: MoveKind } | { ok: false; message: string };

/**
 * Whether a migration may move from one stage to another, and what kind of move it is.
 *
 * @example
 * checkMove("evals", "canary")     // { ok: true, kind: "forward" }
 * checkMove("draft", "canary")     // { ok: false, message: "draft → canary skips baseline, evals: ..." }
 */
export function checkMove(from: Stage, to: Stage): MoveCheck {
  if (from === to) return { ok: false, message: `The migration is already in stage '${to}'.` };
  if (to === "rolled-back") return { ok: true, kind: "rollback" };
  const target = ORDER.indexOf(to);
  if (from === "rolled-back") {
    return target <= ORDER.indexOf("evals")
      ? { ok: true, kind: "restart" }
      : { ok: false, message: `A rolled-back migration restarts at 'evals' at the latest: its candidate passes evals again before it serves users (asked: '${to}').` };
  }
  const current = ORDER.indexOf(from);
  if (target < current) return { ok: true, kind: "back" };
  if (target === current + 1) return { ok: true, kind: "forward" };
  const skipped = ORDER.slice(current + 1, target).join(", ");
  return { ok: false, message: `Stage '${from}' → '${to}' skips ${skipped}: move forward one stage at a time (next: '${ORDER[current + 1]}').` };
}

/** Every stage a migration in `from` may move to, in stage order. */
export function nextStages(from: Stage): Stage[] {
  return STAGES.filter((to) => checkMove(from, to).ok);
}
