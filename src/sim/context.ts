/**
 * What an endpoint handler gets to know about the origin and the request it serves.
 */
import type { Fault } from "./faults";
import type { ResolvedSimOrigin } from "./options";
import type { PrefillQueue } from "./prefill-queue";
import type { PrefixCache } from "./prefix-cache";
import type { OriginStats } from "./stats";

/** One origin's configuration and its mutable state. */
export interface OriginState {
  name: string;
  config: ResolvedSimOrigin;
  cache: PrefixCache;
  /** Its prefill slots (`prefillSlots`). */
  queue: PrefillQueue;
  /** What it served, for `GET /_sim/stats`. */
  stats: OriginStats;
}

/** One request being served by one origin. */
export interface RequestContext {
  origin: OriginState;
  /** The fault this request asked of this origin, if any. */
  fault: Fault | undefined;
  /** Aborted when the client goes away (request signal) or cancels the response body. */
  lifetime: AbortController;
  /** A fresh, process-unique sequence number for response ids. */
  nextSeq(): number;
  /** The simulator's clock, ms since the epoch (`Date.now` unless a test fixed it). */
  now(): number;
}
