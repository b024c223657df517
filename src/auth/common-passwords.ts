// The common passwords new passwords may not be: the list @zxcvbn-ts/language-common ships, read from the package, never the network.
type CommonPackage = typeof import('@zxcvbn-ts/language-common');

let common: ReadonlySet<string> | null = null;

/**
 * The list, loaded on first use rather than at import (about 0.1 s: the package unpacks its
 * dictionaries when loaded; PasswordHasher loads it as the app is built): 49,233 passwords,
 * lower-cased and ranked by how often they appear in Mark Burnett's ten million leaked passwords
 * (zxcvbn-ts's data scripts); MIT-licensed. Passwords that zxcvbn's own patterns find instead
 * (one character repeated, a run like `abcdefgh`) are not on it, and not refused here either.
 */
export function loadCommonPasswords(): ReadonlySet<string> {
  if (!common) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when first needed, see above.
    const { dictionary } = require('@zxcvbn-ts/language-common') as CommonPackage;
    common = new Set(dictionary['passwords-common']);
  }
  return common;
}

/** How many passwords the list holds (documented, and checked by the tests: at least 10,000). */
export function commonPasswordCount(): number {
  return loadCommonPasswords().size;
}

/** Whether the password, in any case (`PassWord1` as `password1`), is on the list. */
export function isCommonPassword(password: string): boolean {
  return loadCommonPasswords().has(password.toLowerCase());
}
