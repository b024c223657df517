// ES256 through signJwt and verifyJwt: every signature low-S, the high-S twin refused although it verifies as ECDSA.
import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { isLowS, toLowS } from '../../src/auth/ecdsa-low-s';
import { signJwt, verifyJwt, type JwtCheck } from '../../src/auth/jwt';
import { KeyRing, ecSigningKey } from '../../src/auth/keys';
import { es256Twin, isHighS } from '../helpers/forge';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const KEY = ecSigningKey(String(privateKey.export({ type: 'pkcs8', format: 'pem' })));
const RING = new KeyRing([KEY.verification]);
const NOW = 1_800_000_000;
const CHECK: JwtCheck = { typ: 'at+jwt', issuer: 'auth-server', audience: 'api', nowSec: NOW };
const CLAIMS = { iss: 'auth-server', aud: 'api', sub: 'u1', iat: NOW - 10, exp: NOW + 600 };

/** s as 32 big-endian bytes in a signature of r = 1, base64url: the low-S rule looks at s alone. */
function signatureWithS(s: bigint): string {
  const r = Buffer.alloc(32);
  r[31] = 1;
  return Buffer.concat([r, Buffer.from(s.toString(16).padStart(64, '0'), 'hex')]).toString('base64url');
}
const N = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551');

describe('signJwt with an ES256 key', () => {
  // A random s is high half the time: 64 tokens all low-S by chance would be 1 in 2^64.
  const tokens = Array.from({ length: 64 }, (_, i) => signJwt({ ...CLAIMS, jti: `j${i}` }, 'at+jwt', KEY));

  it('writes every signature in low-S form, each one verified by jsonwebtoken with the public key', () => {
    expect(tokens.filter(isHighS)).toEqual([]);
    for (const token of tokens) expect(jwt.verify(token, publicKey, { algorithms: ['ES256'] })).toMatchObject({ sub: 'u1' });
  });

  it('signs tokens verifyJwt accepts', () => {
    for (const [i, token] of tokens.entries()) {
      expect(verifyJwt(token, RING, CHECK)).toEqual({ claims: { ...CLAIMS, jti: `j${i}` }, expired: false });
    }
  });
});

describe('verifyJwt and the ECDSA twin (r, n − s)', () => {
  const token = signJwt(CLAIMS, 'at+jwt', KEY);
  const twin = es256Twin(token);

  it('refuses the twin, which jsonwebtoken alone accepts', () => {
    expect(jwt.verify(twin, publicKey, { algorithms: ['ES256'] })).toMatchObject({ sub: 'u1' });
    expect(verifyJwt(twin, RING, CHECK)).toEqual({ rejected: 'invalid' });
    expect(verifyJwt(token, RING, CHECK)).toMatchObject({ expired: false });
  });

  it('calls the twin of an expired token "invalid", never "expired" (the signature is judged first)', () => {
    const later = { ...CHECK, nowSec: NOW + 600 };
    expect([verifyJwt(token, RING, later), verifyJwt(twin, RING, later)]).toEqual([{ rejected: 'expired' }, { rejected: 'invalid' }]);
  });
});

describe('isLowS and toLowS', () => {
  it('takes s up to n / 2 and refuses anything above it', () => {
    expect([isLowS(signatureWithS(1n)), isLowS(signatureWithS(N / 2n)), isLowS(signatureWithS(N / 2n + 1n)), isLowS(signatureWithS(N - 1n))]).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  it('refuses a signature that is not 64 bytes (DER, truncated, empty)', () => {
    const good = signatureWithS(1n);
    const bytes = Buffer.from(good, 'base64url');
    expect([isLowS(''), isLowS(bytes.subarray(0, 63).toString('base64url')), isLowS(Buffer.concat([bytes, Buffer.from([0])]).toString('base64url'))]).toEqual([
      false,
      false,
      false,
    ]);
  });

  it('turns a high s into n − s and leaves a low one as it is', () => {
    expect(toLowS(signatureWithS(N - 5n))).toBe(signatureWithS(5n));
    expect(toLowS(signatureWithS(5n))).toBe(signatureWithS(5n));
  });
});
