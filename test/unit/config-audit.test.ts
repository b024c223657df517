// loadConfig and the audit log: AUDIT_RETENTION, its default, and the values it refuses without echoing them.
import { loadConfig, type Config } from '../../src/config';
import { configError, STRONG_SECRETS as STRONG } from '../helpers/config-errors';

function load(env: Record<string, string | undefined>): Config {
  return loadConfig({ ...STRONG, ...env }).config;
}

describe('audit configuration', () => {
  it('keeps audit events 90 days unless AUDIT_RETENTION says otherwise', () => {
    expect(load({}).audit).toEqual({ retentionMs: 90 * 86_400_000 });
    expect(load({ AUDIT_RETENTION: '' }).audit.retentionMs).toBe(90 * 86_400_000);
  });

  it.each([
    ['30d', 30 * 86_400_000],
    ['12h', 12 * 3_600_000],
    ['1m', 60_000],
    ['3600', 3_600_000],
  ])('reads AUDIT_RETENTION=%s as %p ms', (text, ms) => {
    expect(load({ AUDIT_RETENTION: text }).audit.retentionMs).toBe(ms);
  });

  it.each(['forever', '-1d', '0', '59s', '90 days'])('refuses AUDIT_RETENTION=%s, naming the variable and never the value', (text) => {
    const error = configError({ ...STRONG, AUDIT_RETENTION: text });
    // The whole message: the value is not in it.
    expect(error.problems).toEqual(['AUDIT_RETENTION: must be a duration of at least a minute, such as 90d']);
  });

  it('allows the same retention in production', () => {
    expect(load({ NODE_ENV: 'production', AUDIT_RETENTION: '365d' }).audit.retentionMs).toBe(365 * 86_400_000);
  });
});
