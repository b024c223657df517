// Closing an HTTP server gracefully: every request already read is answered, keep-alive connections close between requests.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { systemClock, type Clock } from './clock';

const POLL_MS = 100;

interface Connection {
  /** Responses to the requests read on this connection and not yet closed, oldest first. */
  pending: Set<ServerResponse>;
  /** When an answer last went out on it, or a byte last came in. */
  quietSince: number;
  /** `socket.bytesRead` at `quietSince`: a change means a request is arriving. */
  bytesRead: number;
}

export interface Drain {
  /**
   * Stops accepting connections and answers every request already read: the last answer on each
   * connection says `Connection: close`, and the connection closes once it is out. A connection
   * with nothing to answer closes once it has been silent for the server's keep-alive timeout.
   * Resolves when no connection is left.
   */
  close(): Promise<void>;
  /** Cuts every connection at once, answered or not: for when the grace period is over. */
  closeAll(): void;
}

/**
 * Tracks `server`'s connections from now on; call it right after listen(). Written here because
 * the kept libraries for this (http-terminator and its forks, stoppable) destroy an idle
 * keep-alive connection as soon as termination starts: the reset this exists to avoid.
 */
export function drainOnClose(server: Server, clock: Clock = systemClock): Drain {
  const connections = new Map<Socket, Connection>();
  let draining = false;

  server.on('connection', (socket: Socket) => {
    connections.set(socket, { pending: new Set(), quietSince: clock.now(), bytesRead: 0 });
    socket.once('close', () => connections.delete(socket));
  });
  // Ahead of the app, so that an answer written at once still gets its Connection header.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const connection = connections.get(req.socket);
    if (!connection) return;
    connection.pending.add(res);
    res.once('close', () => {
      connection.pending.delete(res);
      connection.quietSince = clock.now();
      connection.bytesRead = req.socket.bytesRead;
    });
    if (draining) closeAfterLastAnswer(connection);
  });

  /**
   * A silent connection may still carry a request: the client cannot know the server is stopping
   * until an answer says so, and closing under a request on its way resets it. Waiting as long as
   * the keep-alive timeout the server announces (Keep-Alive: timeout=5) makes a shutdown close no
   * connection sooner than the server would anyway. Closing idle connections at once (what
   * server.close() does) reset a request on every connection of a client sending back to back,
   * and a 500 ms wait still reset those of a client slowed down by a busy machine (measured).
   */
  function closeSilentConnections(quietMs: number): void {
    const now = clock.now();
    for (const [socket, connection] of connections) {
      if (connection.pending.size > 0) continue;
      if (socket.bytesRead !== connection.bytesRead) {
        // Part of a request (its headers still coming): wait for the rest, which will be answered.
        connection.bytesRead = socket.bytesRead;
        connection.quietSince = now;
      } else if (now - connection.quietSince >= quietMs) {
        socket.destroy();
      }
    }
  }

  return {
    close() {
      draining = true;
      for (const connection of connections.values()) closeAfterLastAnswer(connection);
      const quietMs = server.keepAliveTimeout > 0 ? server.keepAliveTimeout : 5000;
      return new Promise<void>((resolve) => {
        const poll = setInterval(() => closeSilentConnections(quietMs), POLL_MS);
        // Not server.close(): since Node 19 it also destroys every idle keep-alive connection at
        // once, racing each client that is sending its next request on one.
        NetServer.prototype.close.call(server, () => {
          clearInterval(poll);
          resolve();
        });
        closeSilentConnections(quietMs);
      });
    },
    closeAll() {
      for (const socket of connections.keys()) socket.destroy();
    },
  };
}

/**
 * Marks the newest answer of the connection `Connection: close`: the client sends nothing more on
 * it, and Node closes it once that answer is out. Only the newest, because Node drops the answers
 * queued behind a closing one, and a pipelined request behind it was read too.
 */
function closeAfterLastAnswer({ pending }: Connection): void {
  let index = 0;
  for (const res of pending) {
    const newest = ++index === pending.size;
    if (res.headersSent) continue;
    if (newest) res.setHeader('Connection', 'close');
    // Marked before a newer request came in. (removeHeader would send no Connection header at all.)
    else if (res.getHeader('Connection') === 'close') res.setHeader('Connection', 'keep-alive');
  }
}
