/**
 * The glue between a proxied request and prefix affinity: what admission looks up, what placement
 * sees, what the origin's answer teaches the index, and what the monitor counts. Pure.
 */
import type { RouterConfig, ScenarioConfig } from "../config/schema";
import type { Usage } from "../openai/usage";
import type { Decision } from "../routing/decide";
import type { HealthSample } from "../health/types";
import { ownEntry } from "../lib/own";
import { servingOrigins } from "../config/origins";
import { prefixUpdate } from "../affinity/feedback";
import { BLOCK_TOKENS, fingerprint, type Fingerprint } from "../affinity/fingerprint";
import { stringKey, type AffinityView } from "../affinity/placement";
import type { PrefixLookup, PrefixMatch, PrefixUpdate } from "../affinity/prefix-index";
import { cacheProfileOf, reusableTokens } from "../affinity/reuse";

/** A chat request's fingerprint and, under the affinity policy, the index lookup admission runs. */
export interface RequestPrefix {
  fp: Fingerprint;
  lookup: PrefixLookup | null;
  /** The key `session-hash` places by: the request's `user`, when it names one. */
  sessionKey: number | null;
}

/** What a prompt's prefix is made of: a chat request's messages and tools (a legacy prompt as one message), and its `user`. */
export interface PrefixSource {
  messages: readonly unknown[];
  tools?: unknown;
  user?: string | null | undefined;
}

/** The prefix of a chat request. */
export function requestPrefix(config: RouterConfig, scenarioName: string, scenario: ScenarioConfig, body: PrefixSource): RequestPrefix {
  // The scenario's name stands for the model: one rendering for every candidate, whatever each calls it.
  const fp = fingerprint({ model: scenarioName, messages: body.messages, tools: body.tools });
  const sessionKey = typeof body.user === "string" && body.user.length > 0 ? stringKey(body.user) : null;
  if (scenario.affinity.policy !== "affinity" || scenario.routing !== "scored") return { fp, lookup: null, sessionKey };
  const ttlMs: Record<string, number> = {};
  for (const name of servingOrigins(scenario)) ttlMs[name] = cacheProfileOf(config.origins[name]!).ttlSeconds * 1000;
  return { fp, lookup: { chain: fp.blocks, ttlMs }, sessionKey };
}

/**
 * What placement sees: each origin's match rounded to what it can reuse, and no deeper than what
 * `held` (the isolate's cache model) says the origin still holds of the prompt (null: unknown).
 */
export function affinityView(
  config: RouterConfig,
  prefix: RequestPrefix,
  matches: Readonly<Record<string, PrefixMatch>>,
  rotation: number,
  held: (origin: string) => number | null,
): AffinityView {
  const { fp } = prefix;
  const cachedTokens: Record<string, number> = {};
  for (const [origin, match] of Object.entries(matches)) {
    const o = ownEntry(config.origins, origin);
    if (!o) continue;
    const reach = held(origin);
    const matched = Math.min(match.blocks * BLOCK_TOKENS, fp.promptTokens, reach ?? Infinity);
    cachedTokens[origin] = reusableTokens(matched, cacheProfileOf(o));
  }
  return { cachedTokens, promptTokens: fp.promptTokens, anchor: fp.conversation, sessionKey: prefix.sessionKey, rotation };
}

/**
 * The index update after `origin` answered with `usage`; null when there is nothing to learn (no
 * lookup, or an update that records, drops and marks nothing: a prompt shorter than a block). A
 * null update is neither applied nor sent to the ledger, which then writes nothing for it.
 */
export function learnedFrom(config: RouterConfig, prefix: RequestPrefix, matches: Readonly<Record<string, PrefixMatch>>, origin: string, usage: Usage | null): PrefixUpdate | null {
  const o = ownEntry(config.origins, origin);
  if (!o || prefix.lookup === null) return null;
  const reported = usage?.cacheReported ? { promptTokens: usage.promptTokens, cachedTokens: usage.cachedTokens } : null;
  const update = prefixUpdate(prefix.fp, origin, ownEntry(matches, origin) ?? null, reported, cacheProfileOf(o));
  return update.record.length === 0 && update.drop.length === 0 && update.staleBefore === null ? null : update;
}

/** The monitor's sample of what was predicted at the serving origin and what it reported. */
export function prefixSample(scenario: string, decision: Decision, view: AffinityView | undefined, origin: string, usage: Usage): NonNullable<HealthSample["prefix"]> {
  return {
    scenario,
    placement: decision.explanation.placement.kind,
    promptTokens: usage.promptTokens,
    predictedTokens: Math.min((view && ownEntry(view.cachedTokens, origin)) ?? 0, usage.promptTokens),
    reportedTokens: usage.cachedTokens,
  };
}

/** `x-router-affinity`: how the request was placed and what the serving origin was predicted to hold. */
export function affinityHeader(decision: Decision, view: AffinityView | undefined, origin: string | null): string {
  const { policy, kind } = decision.explanation.placement;
  const cached = origin === null || !view ? 0 : (ownEntry(view.cachedTokens, origin) ?? 0);
  return `${kind}; policy=${policy}; predicted-cached-tokens=${cached}`;
}
