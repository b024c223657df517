// parseDuration: seconds ("900") and ms-style strings ("15m", "7d", "500ms") to milliseconds, or null.
import { parseDuration } from '../../src/lib/duration';

describe('parseDuration', () => {
  it.each([
    ['900', 900_000],
    ['0', 0],
    ['1.5', 1500],
    ['500ms', 500],
    ['10s', 10_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    ['1.5h', 5_400_000],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('reads a bare number as seconds, as the environment variables document', () => {
    expect(parseDuration('60')).toBe(parseDuration('1m'));
  });

  it('ignores surrounding whitespace, the case of the unit and a space before the unit', () => {
    expect(parseDuration(' 15m ')).toBe(900_000);
    expect(parseDuration('15M')).toBe(900_000);
    expect(parseDuration('7D')).toBe(604_800_000);
    expect(parseDuration('10 s')).toBe(10_000);
  });

  it('rounds fractions of a millisecond', () => {
    expect(parseDuration('1.4ms')).toBe(1);
    expect(parseDuration('0.0006s')).toBe(1);
  });

  it.each(['', ' ', 'abc', 'm', '15x', '15mins', '-5', '-5m', '+5', '1e3', 'Infinity', 'NaN', '1,5h', '.5s', '5.s', '15m 10s'])(
    'refuses %j',
    (text) => {
      expect(parseDuration(text)).toBeNull();
    },
  );

  it('refuses a duration too large to be counted exactly in milliseconds', () => {
    expect(parseDuration('99999999999999999d')).toBeNull();
  });
});
