// A login whose client hangs up before the answer (node dist/server.js, raw sockets): the session it opened is ended, not left live.
import net from 'node:net';
import { killStartedChildren, requestJson, type RunningChild } from '../helpers/child-process';
import { eventually } from '../helpers/eventually';
import { logLinesOf, startServerProcess } from '../helpers/server-process';

const PASSWORD = 'correct horse battery staple';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(() => killStartedChildren());

/** Sends POST /login on a connection of its own and hangs up as `hangUp` says, before any answer. */
async function loginAndHangUp(port: number, email: string, hangUp: (socket: net.Socket) => Promise<void>): Promise<string> {
  const body = JSON.stringify({ email, password: PASSWORD });
  const socket = net.connect({ host: '127.0.0.1', port });
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(`POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  await hangUp(socket);
  return received;
}

/** The session ids the server logged as opened by a login of `userId`. */
function loggedLogins(child: RunningChild, userId: string): string[] {
  return logLinesOf(child)
    .filter((line) => line.msg === 'login' && line.userId === userId)
    .map((line) => line.sessionId as string);
}

describe('a login whose client hangs up before the answer', () => {
  it.each([
    // The request and the FIN arrive together: the server reads the request, then learns the client is gone.
    ['closes its connection (FIN) right after sending', (socket: net.Socket) => new Promise<void>((resolve) => socket.end(resolve))],
    // Default BCRYPT_COST (12): about 250 ms in bcrypt, so 60 ms later the login is under way.
    ['resets its connection (RST) while the password is checked', async (socket: net.Socket) => {
      await sleep(60);
      socket.resetAndDestroy();
    }],
  ])('%s: the session the login opened is ended, and the user has only the sessions they received', async (_how, hangUp) => {
    const { child, port } = await startServerProcess();
    const email = 'hung-up@example.com';
    const registered = await requestJson(port, 'POST', '/register', { body: { email, password: PASSWORD } });
    expect(registered.status).toBe(201);
    const userId = (registered.body as { user: { id: string } }).user.id;

    expect(await loginAndHangUp(port, email, hangUp)).toBe('');
    // The login went on without its client and opened a session.
    await eventually(() => loggedLogins(child, userId).length === 1, 10_000);
    const [abandoned] = loggedLogins(child, userId);

    // The same user logs in again and waits for the answer: that session is the only live one.
    const login = await requestJson(port, 'POST', '/login', { body: { email, password: PASSWORD } });
    expect(login.status).toBe(200);
    const bearer = { Authorization: `Bearer ${(login.body as { access_token: string }).access_token}` };
    const listed = async () => ((await requestJson(port, 'GET', '/sessions', { headers: bearer })).body as { sessions: { id: string; current: boolean }[] }).sessions;
    // Ending it follows the login at once; allow for a slow machine, then look at what is left.
    await eventually(async () => (await listed()).length === 1, 5000).catch(() => undefined);
    const sessions = await listed();
    expect(sessions).toEqual([expect.objectContaining({ current: true })]);
    expect(sessions[0]!.id).not.toBe(abandoned);
    expect(loggedLogins(child, userId)).toEqual([abandoned, sessions[0]!.id]);

    // The server logged the abandoned request as such, and no failure.
    const lines = logLinesOf(child);
    expect(lines.filter((line) => line.msg === 'request aborted').map((line) => (line.req as { path: string }).path)).toEqual(['/login']);
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
  });
});
