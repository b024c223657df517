// A stream that keeps every line written to it, for tests that read what a logger wrote.
import { Writable } from 'node:stream';

/** `lines` fills with each chunk written to `sink`, as raw text. */
export function logLines(): { lines: string[]; sink: Writable } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, sink };
}
