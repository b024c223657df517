// A clock tests move by hand instead of sleeping.
import type { Clock } from '../../src/lib/clock';

export class FakeClock implements Clock {
  private current: number;

  /** Starts at the real time (whole seconds), so Date-based libraries stay in step. */
  constructor(start = Math.floor(Date.now() / 1000) * 1000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }

  advanceSeconds(seconds: number): void {
    this.current += seconds * 1000;
  }
}
