// The ended sessions an instance remembers: each until its last access token has expired, and never one already past that time.
import { EndedSessions } from '../../src/stores/ended-sessions';

describe('EndedSessions', () => {
  it('remembers an end until its time has passed, and keeps the later of two times', () => {
    const ended = new EndedSessions();
    ended.add('s', 100, 0);
    ended.add('s', 50, 0);
    ended.prune(99);
    expect(ended.has('s')).toBe(true);
    ended.prune(100);
    expect([ended.has('s'), ended.size]).toEqual([false, 0]);
  });

  it('does not record an end already past its time (a message that arrived after the prune)', () => {
    const ended = new EndedSessions();
    ended.add('late', 100, 100);
    ended.add('now', 101, 100);
    expect([ended.has('late'), ended.has('now'), ended.size]).toEqual([false, true, 1]);
  });
});
