// The log stream: the lines of one event-loop turn reach stdout in one write, after the turn, in order.
import { stdoutLogStream, TurnBatchedStream } from '../../src/lib/log-stream';

/** A stream over a sink that records each write it is given. */
function recorded(): { stream: TurnBatchedStream; writes: string[] } {
  const writes: string[] = [];
  return { stream: new TurnBatchedStream({ write: (data: string) => writes.push(data) }), writes };
}

const endOfTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('TurnBatchedStream', () => {
  it('writes the lines of one turn together, once the turn is over, in the order they came', async () => {
    const { stream, writes } = recorded();
    stream.write('{"msg":"one"}\n');
    stream.write('{"msg":"two"}\n');
    stream.write('{"msg":"three"}\n');
    expect(writes).toEqual([]);

    await endOfTurn();
    expect(writes).toEqual(['{"msg":"one"}\n{"msg":"two"}\n{"msg":"three"}\n']);
  });

  it('gives each turn its own write, and writes nothing in a turn that logged nothing', async () => {
    const { stream, writes } = recorded();
    stream.write('a\n');
    await endOfTurn();
    await endOfTurn();
    stream.write('b\n');
    await endOfTurn();
    expect(writes).toEqual(['a\n', 'b\n']);
  });

  it('writes what is buffered at once on flush(), then calls back; the end of the turn adds nothing', async () => {
    const { stream, writes } = recorded();
    const done = jest.fn();
    stream.write('before exit\n');
    stream.flush(done);
    expect(writes).toEqual(['before exit\n']);
    expect(done).toHaveBeenCalledTimes(1);

    await endOfTurn();
    stream.flush();
    expect(writes).toEqual(['before exit\n']);
  });
});

describe('stdoutLogStream', () => {
  it('is one stream for every logger of the process, so one exit hook flushes them all', () => {
    const first = stdoutLogStream();
    const exitHooks = process.listenerCount('exit');
    expect(stdoutLogStream()).toBe(first);
    expect(stdoutLogStream()).toBe(first);
    expect(process.listenerCount('exit')).toBe(exitHooks);
  });
});
