/**
 * The client's going away, told to everyone on the request's path who must know (its settlement,
 * each origin attempt) through one listener on the request's signal. Every listener added to or
 * removed from the signal is a call into the runtime; those here are JavaScript's own.
 */
import type { ClientDeparture } from "../proxy/forward";

export class Departure implements ClientDeparture {
  private readonly listeners = new Set<() => void>();
  private listening = false;

  constructor(private readonly signal: AbortSignal) {}

  /** Whether the client has gone away. */
  get aborted(): boolean {
    return this.signal.aborted;
  }

  /** Calls `listener` once when the client goes away (not when it already has: ask `aborted` first). */
  on(listener: () => void): void {
    if (!this.listening) {
      this.listening = true;
      // Never removed: once the request is over the signal no longer fires, and nobody listens.
      this.signal.addEventListener("abort", this.fire, { once: true });
    }
    this.listeners.add(listener);
  }

  off(listener: () => void): void {
    this.listeners.delete(listener);
  }

  /**
   * As the DOM dispatches: in the order they came, each once, none that an earlier one removed,
   * and a listener that throws stops none after it (an attempt's must still cancel its origin call).
   */
  private readonly fire = (): void => {
    for (const listener of [...this.listeners]) {
      if (!this.listeners.delete(listener)) continue;
      try {
        listener();
      } catch (e) {
        console.error("a listener for the client's going away failed", e);
      }
    }
  };
}
