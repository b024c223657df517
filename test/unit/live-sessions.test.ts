// The bounded set of sessions an instance has seen live: oldest out first, never more than its capacity.
import { LiveSessions } from '../../src/stores/live-sessions';

describe('LiveSessions', () => {
  it('remembers what it was given until cleared', () => {
    const live = new LiveSessions();
    live.add('a');
    expect([live.has('a'), live.has('b')]).toEqual([true, false]);
    live.clear();
    expect(live.has('a')).toBe(false);
  });

  it('drops the oldest id once 50,000 are held, so that memory stays bounded', () => {
    const live = new LiveSessions();
    for (let i = 0; i <= 50_000; i += 1) live.add(`s${i}`);
    expect([live.has('s0'), live.has('s1'), live.has('s50000')]).toEqual([false, true, true]);
  });
});
