// The zod field builders every section shares: text, durations, whole numbers and flags read from the environment.
import { z } from 'zod';
import { parseDuration } from '../lib/duration';

/** What a section's variables parse to: each variable by name, after its default and transform. */
export type Parsed<Shape extends z.ZodRawShape> = z.infer<z.ZodObject<Shape>>;

export function optionalText() {
  return z.string().optional();
}

function toMilliseconds(text: string, ctx: z.RefinementCtx): number {
  const ms = parseDuration(text);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: 'must be a duration such as 900, 15m or 7d' });
    return z.NEVER;
  }
  return ms;
}

/**
 * An optional URL that `accept` approves. The message names the forms wanted and never echoes the
 * value: a URL may carry a password.
 */
export function optionalUrl(accept: (url: URL) => boolean, message: string) {
  return z
    .string()
    .optional()
    .refine(
      (text) => {
        if (text === undefined) return true;
        try {
          return accept(new URL(text));
        } catch {
          return false;
        }
      },
      { error: message },
    );
}

export function duration(fallback: string) {
  return z.string().default(fallback).transform(toMilliseconds);
}

/** A duration with no default: undefined when the variable is not set. */
export function optionalDuration() {
  return z.string().transform(toMilliseconds).optional();
}

export function integer(fallback: number, min: number, max: number) {
  return z
    .string()
    .default(String(fallback))
    .transform((text, ctx) => {
      const value = Number(text);
      if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      return value;
    });
}

export function flag(fallback: boolean) {
  return z
    .string()
    .default(String(fallback))
    .transform((text, ctx) => {
      const value = text.trim().toLowerCase();
      if (['true', '1', 'yes'].includes(value)) return true;
      if (['false', '0', 'no'].includes(value)) return false;
      ctx.addIssue({ code: 'custom', message: 'must be true or false' });
      return z.NEVER;
    });
}

/** The entries of a comma-separated list, trimmed, empty ones left out ("a, b,," is a and b). */
export function commaList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}
