// verifyJwt checks HS256 through jsonwebtoken (algorithm pinned) and is stricter where RFC 8725 asks; its canonical-form check agrees with decoding.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import { isCanonicalCompact, signJwt, verifyJwt, type JwtCheck } from '../../src/auth/jwt';
import { KeyRing, hmacKey } from '../../src/auth/keys';

const SECRET = 'unit-Kp3vQ9zR7wX2mN8bT4yL6hJ1cF5dG0sA-hs256';
const KEY = hmacKey(SECRET, 'k1');
const RING = new KeyRing([KEY.verification]);
const NOW = 1_800_000_000;
const CHECK: JwtCheck = { typ: 'at+jwt', issuer: 'auth-server', audience: 'api', nowSec: NOW };
const HEADER = { alg: 'HS256', typ: 'at+jwt', kid: 'k1' };
const CLAIMS = { iss: 'auth-server', aud: 'api', sub: 'u1', iat: NOW - 10, exp: NOW + 600 };

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A token of any payload (JSON or not), signed with the secret, or with `signWith`. */
function token(payload: unknown, signWith = SECRET): string {
  const input = `${b64(HEADER)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', signWith).update(input).digest('base64url')}`;
}

/** What jsonwebtoken says of the same token with the options verifyJwt gives it. */
function libraryVerdict(compact: string, check: JwtCheck): 'expired' | 'invalid' | 'passes' {
  try {
    jwt.verify(compact, KEY.key, {
      algorithms: ['HS256'],
      issuer: check.issuer,
      audience: check.audience,
      clockTimestamp: check.nowSec,
      clockTolerance: check.clockToleranceSec ?? 0,
      ignoreExpiration: check.allowExpired === true,
    });
    return 'passes';
  } catch (error) {
    return error instanceof jwt.TokenExpiredError ? 'expired' : 'invalid';
  }
}

/** verifyJwt's verdict, in jsonwebtoken's words ('unknown_key' would be 'invalid' there). */
function ownVerdict(compact: string, check: JwtCheck): 'expired' | 'invalid' | 'passes' {
  const result = verifyJwt(compact, RING, check);
  return 'claims' in result ? 'passes' : result.rejected === 'expired' ? 'expired' : 'invalid';
}

describe('verifyJwt with an HS256 key', () => {
  const cases: [string, string, Partial<JwtCheck>][] = [
    ['a valid token', token(CLAIMS), {}],
    ['another secret', token(CLAIMS, `${SECRET}-other`), {}],
    ['a truncated signature', token(CLAIMS).slice(0, -2), {}],
    ['a wrong signature of the right length', `${token(CLAIMS).slice(0, -43)}${'A'.repeat(42)}E`, {}],
    ['an expired token', token({ ...CLAIMS, exp: NOW }), {}],
    ['an expired token of another audience', token({ ...CLAIMS, exp: NOW - 1, aud: 'elsewhere' }), {}],
    ['an expired token, expiry allowed', token({ ...CLAIMS, exp: NOW - 1 }), { allowExpired: true }],
    ['an expired token within the clock tolerance', token({ ...CLAIMS, exp: NOW - 5 }), { clockToleranceSec: 10 }],
    ['an exp that is a string', token({ ...CLAIMS, exp: String(NOW + 600) }), {}],
    ['an nbf in the future', token({ ...CLAIMS, nbf: NOW + 30 }), {}],
    ['an nbf in the future within the tolerance', token({ ...CLAIMS, nbf: NOW + 5 }), { clockToleranceSec: 10 }],
    ['an nbf now', token({ ...CLAIMS, nbf: NOW }), {}],
    ['an nbf that is a string', token({ ...CLAIMS, nbf: 'soon' }), {}],
    ['an audience list holding ours', token({ ...CLAIMS, aud: ['other', 'api'] }), {}],
    ['an audience list without ours', token({ ...CLAIMS, aud: ['other', 'apis'] }), {}],
    ['no audience', token({ ...CLAIMS, aud: undefined }), {}],
    ['another issuer', token({ ...CLAIMS, iss: 'auth-server2' }), {}],
    ['no issuer', token({ ...CLAIMS, iss: undefined }), {}],
    ['a payload that is a JSON array', token([CLAIMS]), {}],
    ['a payload that is not JSON', token('not json at all'), {}],
  ];

  // Every case has its overrides ({} for none): jest would take a missing last argument for `done`.
  it.each(cases)('answers %s as jsonwebtoken does', (_name, compact, overrides) => {
    const check = { ...CHECK, ...overrides };
    expect(ownVerdict(compact, check)).toBe(libraryVerdict(compact, check));
  });

  // Where verifyJwt is stricter on purpose (RFC 8725: exp required, integer NumericDates, no
  // future iat, a bounded lifetime), jsonwebtoken passes the token and verifyJwt refuses it.
  const stricter: [string, string, Partial<JwtCheck>][] = [
    ['no exp', token({ ...CLAIMS, exp: undefined }), {}],
    ['no iat', token({ ...CLAIMS, iat: undefined }), {}],
    ['a fractional exp', token({ ...CLAIMS, exp: NOW + 600.5 }), {}],
    ['a fractional iat', token({ ...CLAIMS, iat: NOW - 10.5 }), {}],
    ['an exp not after iat', token({ ...CLAIMS, iat: NOW + 30, exp: NOW + 30 }), {}],
    ['an iat further ahead than the clock skew', token({ ...CLAIMS, iat: NOW + 61, exp: NOW + 600 }), {}],
    ['a lifetime over the longest the issuer gives', token(CLAIMS), { maxLifetimeSec: 300 }],
  ];

  it.each(stricter)('refuses %s, which jsonwebtoken would pass', (_name, compact, overrides) => {
    const check = { ...CHECK, ...overrides };
    expect([libraryVerdict(compact, check), verifyJwt(compact, RING, check)]).toEqual(['passes', { rejected: 'invalid' }]);
  });

  it('accepts an iat ahead of the clock by no more than the skew', () => {
    const claims = { ...CLAIMS, iat: NOW + 60, exp: NOW + 600 };
    expect(verifyJwt(token(claims), RING, CHECK)).toEqual({ claims, expired: false });
  });

  it.each(['HS384', 'HS512'] as const)('refuses %s made with the same secret (the algorithm is the key\'s)', (alg) => {
    const compact = jwt.sign(CLAIMS, SECRET, { algorithm: alg, header: { ...HEADER, alg } });
    expect(verifyJwt(compact, RING, CHECK)).toEqual({ rejected: 'invalid' });
  });

  it('returns the claims of a valid token', () => {
    expect(verifyJwt(token(CLAIMS), RING, CHECK)).toEqual({ claims: CLAIMS, expired: false });
  });
});

describe('isCanonicalCompact', () => {
  /** The definition: a segment is canonical when decoding and encoding it again gives it back. */
  const reencodes = (token: string) => {
    const segments = token.split('.');
    return (
      segments.length === 3 &&
      segments.every((segment) => /^[A-Za-z0-9_-]*$/.test(segment) && Buffer.from(segment, 'base64url').toString('base64url') === segment)
    );
  };

  it('agrees with decoding and encoding again, for every segment of up to 3 characters and random longer ones', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=';
    const short: string[] = [''];
    for (const a of alphabet) {
      short.push(a);
      for (const b of alphabet) {
        short.push(a + b);
        for (const c of 'AQgw_-+=') short.push(a + b + c);
      }
    }
    const random = fc.sample(fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 40 }), { numRuns: 3000, seed: 7 });
    const disagreements = [...short, ...random]
      .map((segment) => `eyJ.${segment}.sig`)
      .filter((token) => isCanonicalCompact(token) !== reencodes(token));
    expect(disagreements).toEqual([]);
  });

  it('refuses a token without exactly three segments', () => {
    expect([isCanonicalCompact('a.b'), isCanonicalCompact('a.b.c.d'), isCanonicalCompact('abc')]).toEqual([false, false, false]);
  });
});

describe('signJwt with an HS256 key', () => {
  it('writes exactly the token jsonwebtoken writes for the same claims, header and key', () => {
    const claims = { ...CLAIMS, sid: 's1', jti: 'j1', role: 'user' };
    const expected = jwt.sign(claims, KEY.key, { algorithm: 'HS256', header: HEADER });
    expect(signJwt(claims, 'at+jwt', KEY)).toBe(expected);
  });

  it('signs tokens verifyJwt accepts', () => {
    const claims = { ...CLAIMS, sub: 'ünïcode-ü', extra: [1, 'two'] };
    expect(verifyJwt(signJwt(claims, 'at+jwt', KEY), RING, CHECK)).toEqual({ claims, expired: false });
  });
});
