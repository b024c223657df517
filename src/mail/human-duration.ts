// Durations as a reader says them ("1 hour", "24 hours", "7 days"), for link lifetimes in mails.

const UNITS = [
  { name: 'day', ms: 86_400_000 },
  { name: 'hour', ms: 3_600_000 },
  { name: 'minute', ms: 60_000 },
  { name: 'second', ms: 1000 },
] as const;

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/**
 * The largest unit that measures the duration exactly ("90 minutes", not "1.5 hours"). Days only
 * from two on: "24 hours" is what people write for a one-day link. A duration no unit measures
 * exactly is rounded to the largest unit it holds at least once, never down to zero.
 */
export function humanDuration(ms: number): string {
  for (const unit of UNITS) {
    const count = ms / unit.ms;
    if (Number.isInteger(count) && count >= (unit.name === 'day' ? 2 : 1)) return plural(count, unit.name);
  }
  const unit = UNITS.find((candidate) => ms >= candidate.ms) ?? UNITS[3];
  return plural(Math.max(1, Math.round(ms / unit.ms)), unit.name);
}
