/**
 * What every console page handler gets: the admin API for its session, the session, its CSRF
 * token, the router's clock; and how a failed API call becomes the page's error.
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import type { UsageTotals } from "../ledger/types";
import type { AdminClient, ApiAnswer } from "./admin-client";
import type { Session } from "./session";

export interface Page {
  c: Context<AppEnv>;
  api: AdminClient;
  session: Session;
  csrf: string;
  /** The router's clock: usage windows and expiries are read as of it. */
  now: number;
}

/** An API call that failed: the page shows its message with its status. */
export class ConsoleError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The answer's data, or a {@link ConsoleError} with its status and message. */
export function need<T>(answer: ApiAnswer<T>): T {
  if (answer.ok) return answer.data;
  throw new ConsoleError(answer.status, answer.message);
}

/** Common answer shapes of the admin API. */
export interface ListOf<T> {
  object: "list";
  data: T[];
}

/** `GET /admin/usage/summary` and a tenant's `/usage/summary` rows. */
export type UsageRow = UsageTotals;

export interface CrossTenantSummary {
  group_by: string;
  tenants: number;
  truncated: boolean;
  total: UsageRow;
  data: UsageRow[];
}

/** A query string from defined values (`undefined` and `null` dropped). */
export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const text = q.toString();
  return text ? `?${text}` : "";
}
