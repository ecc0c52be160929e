/** The shapes that cross the TenantLedger's RPC boundary (structured-cloneable plain data). */
import { z } from "zod";

/** What a tenant or a key may do. `null` allows everything the level above allows. */
export const policySchema = z
  .object({
    /** Scenario (model) names this tenant or key may use. */
    allowedModels: z.array(z.string().min(1).max(64)).max(256).nullable().default(null),
  })
  .strict();
export type Policy = z.infer<typeof policySchema>;

export interface Tenant {
  id: string;
  name: string;
  policy: Policy;
  disabled: boolean;
  createdAt: number;
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  /** `tr-acme-…x9Qa`: tells keys apart, cannot be used. */
  hint: string;
  policy: Policy;
  createdAt: number;
  revokedAt: number | null;
}

export type AdmitResult =
  | { ok: true; tenantId: string; keyId: string; allowedModels: string[] | null }
  | { ok: false; reason: "invalid_key" | "tenant_disabled" };

/** Where a usage row's token counts come from. */
export type UsageSource = "origin" | "estimated";

/** One request's record, written after the response (idempotent by `requestId`). */
export interface UsageRecord {
  requestId: string;
  at: number;
  keyId: string;
  endpoint: "chat" | "embeddings";
  scenario: string;
  origin: string | null;
  model: string | null;
  stream: boolean;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  usageSource: UsageSource;
  /** The HTTP status the client received. */
  status: number;
  /** `ok`, or how it failed: `upstream_error`, `stream_broken`, `client_cancelled`, ... */
  outcome: string;
  latencyMs: number;
}
