// AES-256-GCM sealing of TOTP secrets: round trip, a fresh IV each time, and refusal of another key, another user, tampering or another format.
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../src/auth/secret-box';

const KEY = randomBytes(32).toString('hex');

describe('SecretBox', () => {
  it('opens what it sealed for the same user, and seals the same secret differently each time', () => {
    const box = new SecretBox(KEY);
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'user-1');
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(box.seal('JBSWY3DPEHPK3PXP', 'user-1')).not.toBe(sealed);
    expect(box.open(sealed, 'user-1')).toBe('JBSWY3DPEHPK3PXP');
  });

  it('refuses another key, another user, an altered byte, and other formats', () => {
    const box = new SecretBox(KEY);
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'user-1');
    expect(new SecretBox(randomBytes(32).toString('hex')).open(sealed, 'user-1')).toBeNull();
    expect(box.open(sealed, 'user-2')).toBeNull();
    const [version, iv, ciphertext, tag] = sealed.split('.');
    const flipped = Buffer.from(ciphertext!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(box.open([version, iv, flipped.toString('base64url'), tag].join('.'), 'user-1')).toBeNull();
    expect(box.open(['v2', iv, ciphertext, tag].join('.'), 'user-1')).toBeNull();
    expect(box.open([version, iv, ciphertext].join('.'), 'user-1')).toBeNull();
    expect(box.open('', 'user-1')).toBeNull();
  });

  it('takes only a 32-byte key', () => {
    expect(() => new SecretBox(randomBytes(16).toString('hex'))).toThrow(TypeError);
  });
});
