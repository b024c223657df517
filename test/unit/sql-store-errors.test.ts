// How database failures reach a client and the log: 503 for "not now", a bare SQLSTATE for a refused statement, never a row's contents.
import { AppError } from '../../src/errors';
import { guarded, storeError } from '../../src/stores/sql/database';

/** The fields node-postgres and PGlite give a DatabaseError. */
function databaseError(code: string, extra: Record<string, unknown> = {}) {
  return Object.assign(new Error(`the server's own message for ${code}`), { code, severity: 'ERROR', ...extra });
}

describe('storeError', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['a broken pipe (a five-letter Node code, not a SQLSTATE)', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })],
    ['a dropped connection', new Error('Connection terminated unexpectedly')],
    ['a server shutting down', databaseError('57P01')],
    ['a statement timeout', databaseError('57014')],
    ['a lock not granted in time', databaseError('55P03')],
    ['a deadlock', databaseError('40P01')],
    ['too many connections', databaseError('53300')],
  ])('turns %s into 503 unavailable', (_what, error) => {
    const mapped = storeError(error);
    expect(mapped).toBeInstanceOf(AppError);
    expect(mapped).toMatchObject({ code: 'unavailable', status: 503, description: 'A backing store is unreachable.' });
  });

  it('keeps a refused statement a plain error with its SQLSTATE, table and constraint, and nothing of the row', () => {
    const error = databaseError('23502', {
      table: 'users',
      constraint: undefined,
      detail: 'Failing row contains (abc, ann@example.com, user, $2b$12$secrethashsecrethashsecrethashsecrethashsecreth).',
    });
    const mapped = storeError(error) as Error & { code: string };
    expect(mapped).not.toBeInstanceOf(AppError);
    expect(mapped.message).toBe('the database refused a statement: SQLSTATE 23502 (table users)');
    expect(mapped.code).toBe('23502');
    expect(JSON.stringify({ ...mapped, message: mapped.message })).not.toContain('$2b$');
  });

  it('keeps the code of a unique violation for the store that expects one', () => {
    expect(storeError(databaseError('23505', { constraint: 'users_email_key', table: 'users' }))).toMatchObject({
      code: '23505',
      constraint: 'users_email_key',
      message: 'the database refused a statement: SQLSTATE 23505 (table users, constraint users_email_key)',
    });
  });
});

describe('guarded', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('answers 503 once a call has run for 4 s, and lets the call finish on its own', async () => {
    let finished = false;
    const slow = guarded(() => new Promise<string>((resolve) => setTimeout(() => resolve('late'), 10_000)).then((value) => {
      finished = true;
      return value;
    }));
    const outcome = expect(slow).rejects.toMatchObject({ code: 'unavailable', status: 503 });
    await jest.advanceTimersByTimeAsync(4000);
    await outcome;
    expect(finished).toBe(false);
    await jest.advanceTimersByTimeAsync(6000);
    expect(finished).toBe(true);
  });
});
