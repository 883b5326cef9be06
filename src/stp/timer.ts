/**
 * A protocol timer driven by the engine's tick(ms): no clock of its own.
 * `remaining` counts down; `advance` reports the expiry once and stops it,
 * as a Linux timer_list fires once and is re-armed by its handler.
 */
export class Timer {
  active = false;
  remaining = 0;

  start(ms: number): void {
    this.active = true;
    this.remaining = ms;
  }

  stop(): void {
    this.active = false;
    this.remaining = 0;
  }

  /** Advance by `ms`; true when the timer expires within it (it is then stopped). */
  advance(ms: number): boolean {
    if (!this.active) return false;
    this.remaining -= ms;
    if (this.remaining > 1e-6) return false;
    this.stop();
    return true;
  }

  /** Seconds left, for status (0 when stopped). */
  get seconds(): number {
    return this.active ? Math.max(0, Math.round(this.remaining / 10) / 100) : 0;
  }
}
