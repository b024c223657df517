// whenUndelivered on a real HTTP server and real sockets: it undoes what an answer carried only when the answer never went out.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import express, { type Response } from 'express';
import { whenUndelivered } from '../../src/http/delivery';
import { eventually } from '../helpers/eventually';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Served {
  port: number;
  /** How many times the undo ran. */
  undone: () => number;
  close: () => Promise<void>;
}

/** An app whose one route waits `delayMs`, registers the undo, then answers `body`. */
async function serve(delayMs: number, body: string): Promise<Served> {
  let undone = 0;
  const app = express();
  app.get('/', async (_req, res: Response) => {
    await sleep(delayMs);
    whenUndelivered(res, async () => void undone++, () => undefined);
    res.type('text/plain').send(body);
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    undone: () => undone,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sends GET / and returns the socket, reading nothing unless `read`. */
async function get(port: number, read: boolean): Promise<{ socket: net.Socket; received: () => number }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  let received = 0;
  if (read) socket.on('data', (chunk: Buffer) => (received += chunk.length));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  return { socket, received: () => received };
}

describe('whenUndelivered', () => {
  let served: Served | undefined;
  afterEach(async () => served?.close());

  it('never undoes an answer that went out', async () => {
    served = await serve(0, 'tokens');
    const { socket, received } = await get(served.port, true);
    await eventually(() => received() > 0);
    socket.destroy();
    await sleep(50);
    expect(served.undone()).toBe(0);
  });

  it('undoes at once when the client hung up before the answer was ready', async () => {
    served = await serve(100, 'tokens');
    const { socket } = await get(served.port, true);
    socket.destroy();
    await eventually(() => served!.undone() === 1);
    await sleep(50);
    expect(served.undone()).toBe(1);
  });

  it('undoes when the connection closes while the answer is still being written out', async () => {
    // More than the socket buffers hold, to a client that reads none of it: the answer cannot finish.
    served = await serve(0, 'x'.repeat(32 * 1024 * 1024));
    const { socket } = await get(served.port, false);
    await sleep(200);
    expect(served.undone()).toBe(0);
    socket.resetAndDestroy();
    await eventually(() => served!.undone() === 1);
  });
});
