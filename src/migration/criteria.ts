/**
 * The verdict of a migration's eval criteria on the pairs of its `evals` stage: what promotion to
 * `canary` asks (refused while it is not `pass`, unless forced). Pure.
 */
import type { EvalSummary } from "./evals";
import type { EvalCriteria } from "./schema";

export interface CriterionCheck {
  name: "minSamples" | "errorRate" | "ttftP90Ratio" | "costRatio" | "agreement";
  /** The configured limit. */
  limit: number;
  /** What was measured; null when it could not be. */
  value: number | null;
  pass: boolean;
  detail: string;
}

export interface Verdict {
  /** `insufficient` below `minSamples` (figures that few are no verdict), else `fail` if any check fails. */
  verdict: "pass" | "fail" | "insufficient";
  checks: CriterionCheck[];
}

const ratio = (a: number | null | undefined, b: number | null | undefined): number | null => {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (b === 0) return a === 0 ? 0 : null;
  return Math.round((a / b) * 10_000) / 10_000;
};

/**
 * Applies the criteria to a summary of pairs.
 *
 * @example
 * judge({ minSamples: 20, errorRate: 0.05 }, summary)
 * // { verdict: "fail", checks: [{ name: "minSamples", pass: true, ... }, { name: "errorRate", limit: 0.05, value: 0.1, pass: false, ... }] }
 */
export function judge(criteria: EvalCriteria, summary: EvalSummary): Verdict {
  const { baseline, candidate } = summary;
  const checks: CriterionCheck[] = [
    { name: "minSamples", limit: criteria.minSamples, value: summary.samples, pass: summary.samples >= criteria.minSamples, detail: `${summary.samples} paired requests, ${criteria.minSamples} needed` },
  ];
  const atMost = (name: CriterionCheck["name"], limit: number | undefined, value: number | null, what: string, missing: string) => {
    if (limit === undefined) return;
    const pass = value !== null && value <= limit;
    checks.push({ name, limit, value, pass, detail: value === null ? missing : `${what} ${value} ${pass ? "≤" : ">"} ${limit}` });
  };
  atMost("errorRate", criteria.errorRate, candidate.errorRate, "candidate error rate", "no requests");
  atMost("ttftP90Ratio", criteria.ttftP90Ratio, ratio(candidate.ttftMs?.p90, baseline.ttftMs?.p90), "candidate/baseline TTFT p90", "no TTFT on both sides");
  atMost("costRatio", criteria.costRatio, ratio(candidate.costMicros.perAnswer, baseline.costMicros.perAnswer), "candidate/baseline cost per answer", "no answers on both sides, or a free baseline");
  if (criteria.agreement !== undefined) {
    const value = summary.agreement.similarity;
    const pass = value !== null && value >= criteria.agreement;
    checks.push({
      name: "agreement",
      limit: criteria.agreement,
      value,
      pass,
      detail: value === null ? "no comparable answers (both sides must answer whole)" : `mean similarity ${value} ${pass ? "≥" : "<"} ${criteria.agreement} over ${summary.agreement.compared} answers`,
    });
  }
  const verdict = !checks[0]!.pass ? "insufficient" : checks.every((c) => c.pass) ? "pass" : "fail";
  return { verdict, checks };
}
