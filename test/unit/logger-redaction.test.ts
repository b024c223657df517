// The process logger replaces credentials with "[redacted]" wherever a caller might log them.
import { createLogger } from '../../src/lib/logger';
import { logLines } from '../helpers/log-lines';

/** Logs `fields` through a fresh logger and returns the one line it wrote. */
function logged(fields: Record<string, unknown>): { text: string; line: Record<string, unknown> } {
  const { lines, sink } = logLines();
  createLogger('info', sink).info(fields, 'something happened');
  expect(lines).toHaveLength(1);
  return { text: lines[0]!, line: JSON.parse(lines[0]!) };
}

describe('createLogger', () => {
  it('redacts Authorization, Cookie and X-Api-Key request headers and Set-Cookie response headers', () => {
    const { text, line } = logged({
      req: { method: 'GET', headers: { authorization: 'Bearer eyJ-secret-token', cookie: 'refresh_token=r-secret', 'x-api-key': 'k-secret', host: 'a' } },
      res: { statusCode: 200, headers: { 'set-cookie': 'refresh_token=r2-secret; HttpOnly' } },
    });
    expect(line.req).toEqual({ method: 'GET', headers: { authorization: '[redacted]', cookie: '[redacted]', 'x-api-key': '[redacted]', host: 'a' } });
    expect(line.res).toEqual({ statusCode: 200, headers: { 'set-cookie': '[redacted]' } });
    expect(text).not.toMatch(/secret/);
  });

  it('redacts passwords, hashes and tokens one level down in any object', () => {
    const { text, line } = logged({
      body: { email: 'a@example.com', password: 'pw-secret', refresh_token: 'rt-secret' },
      user: { id: 'u1', password_hash: '$2b$12$secret', passwordHash: '$2b$12$secret' },
      tokens: { access_token: 'at-secret', token: 't-secret' },
    });
    expect(line.body).toEqual({ email: 'a@example.com', password: '[redacted]', refresh_token: '[redacted]' });
    expect(line.user).toEqual({ id: 'u1', password_hash: '[redacted]', passwordHash: '[redacted]' });
    expect(line.tokens).toEqual({ access_token: '[redacted]', token: '[redacted]' });
    expect(text).not.toMatch(/secret/);
  });
});
