// The Redis connection helpers: which failures become a 503, and what a message may say about REDIS_URL.
import { AppError } from '../../src/errors';
import { describeRedisTarget } from '../../src/config/redis-target';
import { storeError } from '../../src/stores/redis/connection';

function replyError(message: string): Error {
  const error = new Error(message);
  error.name = 'ReplyError';
  return error;
}

describe('storeError', () => {
  it.each([
    ['a command while disconnected', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    ['a command timeout', new Error('Command timed out')],
    ['a dropped connection', new Error('Connection is closed.')],
    ['Redis still loading its data', replyError('LOADING Redis is loading the dataset in memory')],
    ['Redis out of memory under noeviction', replyError("OOM command not allowed when used memory > 'maxmemory'.")],
    ['a replica after a failover', replyError("READONLY You can't write against a read only replica.")],
    ['refused credentials', replyError('WRONGPASS invalid username-password pair or user is disabled.')],
  ])('turns %s into 503 unavailable, keeping the cause for the log', (_what, error) => {
    const mapped = storeError(error);
    expect(mapped).toBeInstanceOf(AppError);
    expect(mapped).toMatchObject({ code: 'unavailable', status: 503, description: 'A backing store is unreachable.', cause: error });
  });

  it('leaves an error Redis answered to a wrong command as it is (a 500)', () => {
    const error = replyError('ERR user_script:3: Script attempted to access nonexistent global variable');
    expect(storeError(error)).toBe(error);
  });

  it('leaves an AppError as it is', () => {
    const error = new AppError('invalid_grant');
    expect(storeError(error)).toBe(error);
  });
});

describe('describeRedisTarget', () => {
  it.each([
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ['redis://cache.internal', 'redis://cache.internal:6379'],
    ['rediss://admin:qq-secret@cache.internal:6380/2', 'rediss://cache.internal:6380/2'],
    ['redis://:qq-secret@10.0.0.5:6379/0', 'redis://10.0.0.5:6379/0'],
  ])('shows %s as %s, never a user or password', (url, shown) => {
    expect(describeRedisTarget(url)).toBe(shown);
    expect(describeRedisTarget(url)).not.toMatch(/qq|admin/);
  });
});
