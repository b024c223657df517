// In-memory fixed-window counters for the rate limiters, on the injected clock.
import type { Clock } from '../../lib/clock';
import type { RateLimitCounter } from '../types';

interface Window {
  hits: number;
  resetAt: number;
}

export class MemoryRateLimitCounter implements RateLimitCounter {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly clock: Clock) {}

  async increment(key: string, windowMs: number): Promise<{ totalHits: number; resetTime: Date }> {
    const now = this.clock.now();
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      window = { hits: 0, resetAt: now + windowMs };
      this.windows.set(key, window);
    }
    window.hits += 1;
    return { totalHits: window.hits, resetTime: new Date(window.resetAt) };
  }

  async decrement(key: string): Promise<void> {
    const window = this.windows.get(key);
    if (window && window.hits > 0) window.hits -= 1;
  }

  async resetKey(key: string): Promise<void> {
    this.windows.delete(key);
  }

  /** Drops windows that have ended. */
  sweep(): void {
    const now = this.clock.now();
    for (const [key, window] of this.windows) {
      if (window.resetAt <= now) this.windows.delete(key);
    }
  }

  get size(): number {
    return this.windows.size;
  }

  /** Whether a window is held for the key, ended or not (for tests of sweeping). */
  holds(key: string): boolean {
    return this.windows.has(key);
  }
}
