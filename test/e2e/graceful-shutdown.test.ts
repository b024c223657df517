// SIGTERM with keep-alive clients busy (node dist/server.js, real sockets): every request read is answered, no connection is reset.
import net from 'node:net';
import { acceptsConnections, killStartedChildren, requestJson } from '../helpers/child-process';
import { KeepAliveConnection, type Exchange } from '../helpers/keep-alive-client';
import { logLinesOf, startServerProcess } from '../helpers/server-process';

const PASSWORD = 'correct horse battery staple';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(() => killStartedChildren());

async function registerAndLogIn(port: number, email: string): Promise<string> {
  expect((await requestJson(port, 'POST', '/register', { body: { email, password: PASSWORD } })).status).toBe(201);
  const login = await requestJson(port, 'POST', '/login', { body: { email, password: PASSWORD } });
  expect(login.status).toBe(200);
  return (login.body as { access_token: string }).access_token;
}

describe('SIGTERM with keep-alive clients', () => {
  it('answers every request in flight or sent on an open connection, closes each connection after an answer saying so, and resets none', async () => {
    // Default BCRYPT_COST (12): a login spends about 250 ms in bcrypt, long enough to be in flight.
    const { child, port } = await startServerProcess();
    const email = 'keep-alive@example.com';
    const accessToken = await registerAndLogIn(port, email);

    // Six clients, each on one connection, each sending its next request as soon as it has an
    // answer (GET /profile takes the app's fast lane, GET /health the router), until the server
    // says it closes the connection.
    let signalled = false;
    const clients = Array.from({ length: 6 }, () => new KeepAliveConnection(port));
    const loops = clients.map(async (client, index) => {
      for (;;) {
        const exchange =
          index % 2 === 0
            ? await client.send('GET', '/profile', { headers: { Authorization: `Bearer ${accessToken}` } })
            : await client.send('GET', '/health');
        if (exchange.error || exchange.connection === 'close' || client.exchanges.length > 5000) return;
        // Until the signal, a short pause keeps the machine free for the login below.
        if (!signalled) await sleep(2);
      }
    });
    await sleep(200);
    expect(clients.map((client) => client.exchanges.length >= 2)).toEqual(clients.map(() => true));

    // A login on a keep-alive connection of its own, signalled while bcrypt works on it.
    const loginClient = new KeepAliveConnection(port);
    const login = loginClient.send('POST', '/login', { body: { email, password: PASSWORD } });
    await sleep(60);
    signalled = true;
    process.kill(child.pid, 'SIGTERM');
    const [loggedIn] = await Promise.all([login, ...loops]);
    const exit = await child.waitForExit(12_000);
    for (const client of [...clients, loginClient]) client.close();

    // The process closed by itself (not killed), after the clients below had their answers.
    expect(exit).toEqual({ code: 0, signal: null });
    const all: Exchange[] = [...clients, loginClient].flatMap((client) => client.exchanges);
    // No request was reset or cut off: every one has its answer.
    expect(all.filter((exchange) => exchange.error !== undefined)).toEqual([]);
    expect(all.every((exchange) => exchange.status === 200)).toBe(true);
    expect(loggedIn).toMatchObject({ status: 200, connection: 'close', body: { token_type: 'Bearer', user: { email } } });
    for (const client of clients) {
      const { exchanges } = client;
      // One connection from first to last, kept alive until its last answer, which says it closes.
      expect(new Set(exchanges.map((exchange) => exchange.localPort)).size).toBe(1);
      expect(exchanges.map((exchange) => exchange.connection)).toEqual([...exchanges.slice(1).map(() => 'keep-alive'), 'close']);
    }

    const messages = logLinesOf(child).map((line) => line.msg);
    expect(messages.indexOf('shutting down')).toBeGreaterThan(-1);
    expect(messages.at(-1)).toBe('closed');
    // Each connection's closing answer was made after the signal: requests kept coming and were served.
    const answeredAfter = messages.slice(messages.indexOf('shutting down')).filter((msg) => msg === 'request completed');
    expect(answeredAfter.length).toBeGreaterThanOrEqual(clients.length + 1);
    expect(messages.filter((msg) => msg === 'request aborted')).toEqual([]);
    await expect(acceptsConnections(port)).resolves.toBe(false);
  });

  it('answers two pipelined logins read before the signal, in order, and says Connection: close only on the second', async () => {
    const { child, port } = await startServerProcess();
    const email = 'pipelined@example.com';
    await registerAndLogIn(port, email);

    const body = JSON.stringify({ email, password: PASSWORD });
    const login = `POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = '';
    let failure: Error | undefined;
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    socket.on('error', (error) => (failure = error));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    // Both requests in one write: the server reads both at once, and bcrypt makes them wait.
    socket.write(login + login);
    await sleep(60);
    process.kill(child.pid, 'SIGTERM');
    await ended;

    expect(failure).toBeUndefined();
    const answers = received.split(/(?=HTTP\/1\.1 )/);
    expect(answers.map((answer) => answer.split('\r\n')[0])).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
    expect(answers.map((answer) => /^Connection: (.*)$/im.exec(answer)?.[1])).toEqual(['keep-alive', 'close']);
    expect(answers.map((answer) => (JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { user: { email: string } }).user.email)).toEqual([email, email]);
    expect(await child.waitForExit(12_000)).toEqual({ code: 0, signal: null });
  });
});
