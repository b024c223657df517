// Parses durations written as seconds ("900") or ms-style strings ("15m", "7d", "500ms").

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;

/**
 * Returns the duration in milliseconds, or null when the text is not a duration.
 * A bare number means seconds, as the environment variables document.
 */
export function parseDuration(text: string): number | null {
  const match = DURATION.exec(text.trim().toLowerCase());
  if (!match) return null;
  const amount = Number(match[1]);
  const ms = Math.round(amount * UNIT_MS[match[2] ?? 's']!);
  return Number.isSafeInteger(ms) ? ms : null;
}
