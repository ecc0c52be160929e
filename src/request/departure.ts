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

  private readonly fire = (): void => {
    const waiting = [...this.listeners];
    this.listeners.clear();
    for (const listener of waiting) listener();
  };
}
