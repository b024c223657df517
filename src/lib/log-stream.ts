// The log's way to stdout: the lines of one event-loop turn joined and written at once, synchronously.
import pino, { type DestinationStream } from 'pino';

/** Where a batch goes: one synchronous write per call. */
export interface LineSink {
  write(data: string): unknown;
}

/**
 * Buffers the lines logged during one turn of the event loop and writes them together once the
 * turn's I/O callbacks are done (setImmediate), and at once on flush().
 *
 * Why not pino's default: its stdout writes asynchronously, each write a hop to libuv's thread
 * pool and back. Under load that nearly doubled the context switches per request and lengthened
 * the latency tail of protected routes on a busy 2-core machine (measured with bench/). A
 * synchronous write per line would cost a system call per request; per turn, a busy server
 * writes the lines of many requests in one call.
 * As with any synchronous stdout, a reader that stops reading makes the writes wait for it.
 */
export class TurnBatchedStream implements DestinationStream {
  private pending = '';
  private scheduled = false;

  constructor(private readonly sink: LineSink) {}

  write(line: string): void {
    this.pending += line;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes what is buffered now. pino's logger.flush() calls it. */
  flush(done?: (error?: Error) => void): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = '';
    if (batch !== '') this.sink.write(batch);
    done?.();
  }
}

let shared: TurnBatchedStream | undefined;

/**
 * The process's log stream, one for every logger: stdout through pino's synchronous writer (which
 * retries a full pipe and ignores a closed one), batched per turn, and flushed when the process
 * exits, however it exits (process.exit, an uncaught exception, the end of the event loop).
 */
export function stdoutLogStream(): TurnBatchedStream {
  if (!shared) {
    const stream = new TurnBatchedStream(pino.destination({ dest: 1, sync: true }));
    process.on('exit', () => stream.flush());
    shared = stream;
  }
  return shared;
}
