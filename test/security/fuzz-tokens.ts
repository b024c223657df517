// The fuzz's bad tokens: small mutations of a real token, and real claims signed by keys that are not the server's.
import { decodeJwt } from '../helpers/fixtures';
import { forgeJwt, jwtSegment } from '../helpers/forge';
import { TEST_ENV } from '../helpers/test-config';
import { WEAK_SECRETS } from '../helpers/attack';

export const MUTATIONS = ['flip', 'cut', 'append', 'swap', 'none-alg', 'respell', 'case', 'unsigned'] as const;
export type Mutation = (typeof MUTATIONS)[number];

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * A small change to a real token, never the token itself and never empty (an empty token breaks
 * the Bearer grammar first: a 400 that says nothing of the token). `at` picks the position.
 */
export function mutate(real: string, how: Mutation, at: number): string {
  const i = at % real.length;
  const [header, payload, signature] = real.split('.') as [string, string, string];
  switch (how) {
    case 'flip':
      return `${real.slice(0, i)}${real[i] === 'A' ? 'B' : 'A'}${real.slice(i + 1)}`;
    case 'cut':
      return real.slice(0, Math.max(1, i));
    case 'append':
      return `${real}${real.slice(i)}`;
    case 'swap':
      return real.split('.').reverse().join('.');
    case 'none-alg':
      return `${jwtSegment({ alg: 'none', typ: 'at+jwt' })}.${payload}.`;
    case 'respell': {
      // The same signature bytes spelled otherwise: the unused low bits of the last character
      // set (43 characters carry 256 bits and 2 spare ones). A lenient decoder accepts this twin.
      const last = BASE64URL.indexOf(signature[signature.length - 1]!);
      const twin = BASE64URL[last ^ (1 + (at % 3))]!;
      return `${header}.${payload}.${signature.slice(0, -1)}${twin}`;
    }
    case 'case': {
      // One letter of the signature in the other case: base64url is case-sensitive.
      const letters = [...signature].map((char, index) => (/[a-z]/i.test(char) ? index : -1)).filter((index) => index >= 0);
      const j = letters[at % letters.length]!;
      const char = signature[j]!;
      const other = char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase();
      return `${header}.${payload}.${signature.slice(0, j)}${other}${signature.slice(j + 1)}`;
    }
    case 'unsigned':
      return `${header}.${payload}.`;
  }
}

export const FOREIGN_SIGNERS = ['other-secret', 'weak-secret', 'other-type-secret', 'hs512'] as const;
export type ForeignSigner = (typeof FOREIGN_SIGNERS)[number];

/** A strong secret of another server: a token it signed proves nothing here. */
const OTHER_SERVER_SECRET = 'another-auth-server-Qm7vR2xK9pL4wT8nY3bJ6hF1dS5gZ0cA';

/**
 * The claims of the real token `real`, with `changes` applied (fresh `iat` and `exp`, so that
 * expiry cannot be why it is refused), under the real token's header, signed by a key that does
 * not verify such tokens: another server's secret, a weak secret, the server's secret for the
 * other token type, or the right secret under HS512 (the algorithm is the key's, not the token's).
 */
export function resign(real: string, signer: ForeignSigner, changes: Record<string, unknown>, at: number): string {
  const { header, payload } = decodeJwt(real);
  const claims = { ...payload, ...changes };
  const refresh = header.typ === 'rt+jwt';
  switch (signer) {
    case 'other-secret':
      return forgeJwt(header, claims, { alg: 'HS256', hmacKey: OTHER_SERVER_SECRET });
    case 'weak-secret':
      return forgeJwt(header, claims, { alg: 'HS256', hmacKey: WEAK_SECRETS[at % WEAK_SECRETS.length]! });
    case 'other-type-secret':
      return forgeJwt(header, claims, { alg: 'HS256', hmacKey: refresh ? TEST_ENV.JWT_SECRET! : TEST_ENV.JWT_REFRESH_SECRET! });
    case 'hs512':
      return forgeJwt({ ...header, alg: 'HS512' }, claims, { alg: 'HS512', hmacKey: refresh ? TEST_ENV.JWT_REFRESH_SECRET! : TEST_ENV.JWT_SECRET! });
  }
}
