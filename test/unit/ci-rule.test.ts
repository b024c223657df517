// The one rule that decides whether a suite needing Redis, PostgreSQL or a browser may skip.
import { inCi } from '../helpers/ci';

describe('inCi', () => {
  const saved = process.env.CI;
  afterEach(() => {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  });

  it.each(['true', '1', 'yes', 'TRUE', 'github-actions'])('counts CI=%s as a CI run, where nothing may skip', (value) => {
    process.env.CI = value;
    expect(inCi()).toBe(true);
  });

  it.each(['', '0', 'false', ' False '])('counts CI=%j as no CI run', (value) => {
    process.env.CI = value;
    expect(inCi()).toBe(false);
  });

  it('counts an unset CI as no CI run', () => {
    delete process.env.CI;
    expect(inCi()).toBe(false);
  });
});
