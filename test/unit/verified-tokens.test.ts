// The verified-token cache: a remembered verdict stands until the token's exp, never across a clock gone back.
import type { AccessClaims } from '../../src/auth/access-claims';
import { TokenService } from '../../src/auth/tokens';
import { VerifiedTokens } from '../../src/auth/verified-tokens';
import { FakeClock } from '../helpers/fake-clock';
import { testConfig } from '../helpers/test-config';

function claims(expiresAt: number, userId = 'u1'): AccessClaims {
  return { userId, sessionId: 's1', tokenId: 't1', role: 'user', amr: ['pwd'], issuedAt: expiresAt - 900, expiresAt };
}

describe('VerifiedTokens', () => {
  it('gives back the claims of a remembered token until its exp, then forgets it', () => {
    const cache = new VerifiedTokens();
    cache.remember('token', claims(2000), 1500);
    expect(cache.get('token', 1500)).toEqual(claims(2000));
    expect(cache.get('token', 1999)).toEqual(claims(2000));
    expect(cache.get('token', 2000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('forgets a token when the clock reads earlier than when it was verified', () => {
    const cache = new VerifiedTokens();
    cache.remember('token', claims(2000), 1500);
    expect(cache.get('token', 1499)).toBeUndefined();
    expect(cache.get('token', 1500)).toBeUndefined();
  });

  it('knows only the exact token string it verified', () => {
    const cache = new VerifiedTokens();
    cache.remember('token', claims(2000), 1500);
    expect(cache.get('token ', 1500)).toBeUndefined();
    expect(cache.get('tokem', 1500)).toBeUndefined();
  });

  it('holds at most its capacity, forgetting the token remembered first', () => {
    const cache = new VerifiedTokens(2);
    cache.remember('first', claims(2000, 'a'), 1500);
    cache.remember('second', claims(2000, 'b'), 1500);
    cache.remember('third', claims(2000, 'c'), 1500);
    expect(cache.size).toBe(2);
    expect(cache.get('first', 1500)).toBeUndefined();
    expect(cache.get('second', 1500)?.userId).toBe('b');
    expect(cache.get('third', 1500)?.userId).toBe('c');
  });

  it('hands out claims nobody can change', () => {
    const cache = new VerifiedTokens();
    cache.remember('token', claims(2000), 1500);
    expect(Object.isFrozen(cache.get('token', 1500))).toBe(true);
  });
});

describe('TokenService.verifyAccess with remembered tokens', () => {
  const input = { userId: 'u1', sessionId: 's1', tokenId: 't1', role: 'user' as const, amr: ['pwd'] as const, sessionExpiresAtSec: 4_000_000_000 };

  it('refuses a token it accepted before, once the token has expired', () => {
    const clock = new FakeClock();
    const tokens = new TokenService(testConfig().jwt, clock);
    const { token, expiresAt } = tokens.signAccess(input);
    expect(tokens.verifyAccess(token).expiresAt).toBe(expiresAt);
    expect(tokens.verifyAccess(token).userId).toBe('u1');

    clock.advance(expiresAt * 1000 - clock.now());
    expect(() => tokens.verifyAccess(token)).toThrow('token expired');
  });

  it('checks a token afresh when the clock has gone back, refusing one issued too far ahead', () => {
    const clock = new FakeClock();
    const tokens = new TokenService(testConfig().jwt, clock);
    const { token } = tokens.signAccess(input);
    expect(tokens.verifyAccess(token).userId).toBe('u1');

    // Its iat is now more than the 60 s of skew ahead of the clock.
    clock.advanceSeconds(-61);
    expect(() => tokens.verifyAccess(token)).toThrow('token invalid');
  });
});
