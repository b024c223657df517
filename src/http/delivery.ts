// Noticing an answer that never reached the client: its connection closed before the response was written out.
import type { Response } from 'express';

/**
 * Runs `undo` once if `res` closes without having been written out in full: the client hung up
 * (or the server's shutdown cut the connection) while the answer was being made or sent. Never
 * runs once the response has been handed to a live connection. Call it before sending; `undo`'s
 * failure goes to `onError`.
 */
export function whenUndelivered(res: Response, undo: () => Promise<unknown>, onError: (error: unknown) => void): void {
  const run = () => void Promise.resolve().then(undo).catch(onError);
  // Closed already: writing now would be a no-op, yet would mark the response finished.
  if (res.closed) {
    run();
    return;
  }
  const socket = res.req.socket;
  let delivered = false;
  // 'finish' means the last byte was handed to the socket; Node also emits it when a connection
  // that was reset drops what it still held, and that socket is destroyed by then.
  res.once('finish', () => {
    delivered = !socket.destroyed;
  });
  // 'close' follows 'finish' on every response, and comes alone when the connection went first.
  res.once('close', () => {
    if (!delivered) run();
  });
}
