/**
 * Priority classes: what a request asks for (OpenAI's `service_tier`, or an `x-priority` header),
 * capped by what its key may ask for.
 *
 * `service_tier` (https://platform.openai.com/docs/api-reference/chat/create#chat-create-service_tier):
 * `priority` and `scale` → interactive, `auto` / `default` / absent → standard, `flex` → batch.
 */
export const PRIORITY_CLASSES = ["interactive", "standard", "batch"] as const;
export type PriorityClass = (typeof PRIORITY_CLASSES)[number];

const RANK: Record<PriorityClass, number> = { interactive: 0, standard: 1, batch: 2 };

const FROM_TIER: Record<string, PriorityClass> = {
  priority: "interactive",
  scale: "interactive",
  auto: "standard",
  default: "standard",
  flex: "batch",
};

export interface Priority {
  priority: PriorityClass;
  /** What the client asked for, before the cap. */
  requested: PriorityClass;
  /** Where it came from. */
  source: "header" | "service_tier" | "default";
}

/**
 * The request's class. The header wins over `service_tier`; unknown values count as absent.
 *
 * @example
 * priorityOf("priority", null, "standard"); // { priority: "standard", requested: "interactive", source: "service_tier" }
 */
export function priorityOf(serviceTier: unknown, header: string | null, highestAllowed: PriorityClass): Priority {
  let requested: PriorityClass = "standard";
  let source: Priority["source"] = "default";
  const fromHeader = header?.trim().toLowerCase();
  if (fromHeader && (PRIORITY_CLASSES as readonly string[]).includes(fromHeader)) {
    requested = fromHeader as PriorityClass;
    source = "header";
  } else if (typeof serviceTier === "string" && Object.hasOwn(FROM_TIER, serviceTier)) {
    requested = FROM_TIER[serviceTier]!;
    source = "service_tier";
  }
  const priority = RANK[requested] < RANK[highestAllowed] ? highestAllowed : requested;
  return { priority, requested, source };
}
