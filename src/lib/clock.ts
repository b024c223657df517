// The time source every time-dependent part of the server asks, so tests can move time.

/** Tells the current time. Injected everywhere instead of calling Date.now() directly. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** Whole seconds since the Unix epoch, as JWT claims use them. */
export function epochSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}
