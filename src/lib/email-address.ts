// Email addresses, internationalised ones included (RFC 6531/6532), in the one normal form the stores key users by.
import { domainToASCII, domainToUnicode } from 'node:url';

/** RFC 5321's limits, in octets: the local part, and the whole address (with its domain in ASCII). */
const MAX_LOCAL_BYTES = 64;
const MAX_ADDRESS_BYTES = 254;

/**
 * The characters of a local part: zod's ASCII set (what this server took before) plus letters,
 * marks and digits of any script (RFC 6532's UTF-8 atext, less symbols, spaces and format
 * characters, which only serve to make two addresses look alike; see INVISIBLE too).
 */
const LOCAL_CHAR = /^[a-z0-9_'+\-.\p{L}\p{M}\p{N}]$/u;
/**
 * Characters that show as nothing (a combining grapheme joiner, a variation selector, the Hangul
 * filler): letters and marks by category, yet `adm\u034Fin` would show as a second `admin`.
 */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u;
/** The scripts whose letters are the usual lookalikes of one another (UTS #39's confusables). */
const LOOKALIKE_SCRIPTS = [/\p{Script=Latin}/u, /\p{Script=Cyrillic}/u, /\p{Script=Greek}/u];
/** One label of a domain in its ASCII form (LDH rule, RFC 1123). */
const ASCII_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A top-level label: letters, or an A-label (`xn--…`) such as `.广告`'s. */
const TOP_LABEL = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

/**
 * The normal form of an email address, or null when it is not one this server takes.
 * Trimmed, NFC-normalised and lower-cased; the domain goes through IDNA (UTS #46, as browsers do)
 * and is kept in its ASCII form (A-labels): `JOSÉ@EXÄMPLE.COM`, `josé@exämple.com` and
 * `josé@xn--exmple-cua.com` are one address, `josé@xn--exmple-cua.com`. ASCII, because addresses
 * stored before internationalised ones were taken were ASCII (`xn--` domains included) and must
 * still be found, and because an A-label shows a mixed-script lookalike domain for what it is.
 */
export function normalizeEmail(input: string): string | null {
  // NFC before and after lower-casing: a lower-case letter may compose differently.
  const address = input.trim().normalize('NFC').toLowerCase().normalize('NFC');
  const at = address.lastIndexOf('@');
  if (at <= 0) return null;
  const local = address.slice(0, at);
  const domain = domainAsAscii(address.slice(at + 1));
  if (!domain || !validLocalPart(local)) return null;
  if (Buffer.byteLength(local, 'utf8') + 1 + domain.length > MAX_ADDRESS_BYTES) return null;
  // A domain whose Unicode form would not lead back to the same ASCII one is no name to keep.
  const unicode = domainToUnicode(domain);
  if (!unicode || domainToASCII(unicode) !== domain) return null;
  return `${local}@${domain}`;
}

/** A dot-atom (RFC 5322 §3.2.3) of at most 64 octets: no leading, trailing or doubled dot. */
function validLocalPart(local: string): boolean {
  if (Buffer.byteLength(local, 'utf8') > MAX_LOCAL_BYTES) return false;
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) return false;
  // An apostrophe may not end it, as zod's check had it.
  if (local.endsWith("'")) return false;
  for (const char of local) if (!LOCAL_CHAR.test(char) || INVISIBLE.test(char)) return false;
  // `аdmin` with a Cyrillic а looks like `admin`: letters of these scripts do not mix.
  return LOOKALIKE_SCRIPTS.filter((script) => script.test(local)).length <= 1;
}

/** The domain's ASCII form (A-labels), or null: a host name of two labels or more, no IP address. */
function domainAsAscii(domain: string): string | null {
  // The URL parser would decode `%41` and drop or map ASCII punctuation: only LDH and dots go in as ASCII.
  for (const char of domain) if (char < '\u0080' && !/[a-z0-9.-]/.test(char)) return null;
  const ascii = domainToASCII(domain);
  if (!ascii || ascii.length > 253) return null;
  const labels = ascii.split('.');
  if (labels.length < 2 || !labels.every((label) => ASCII_LABEL.test(label))) return null;
  return TOP_LABEL.test(labels.at(-1)!) ? ascii : null;
}
