// A client's view of a server: keep-alive connections, request after request, each answer or failure recorded.
import http from 'node:http';

/** One request on a keep-alive connection, and how it ended. */
export interface Exchange {
  method: string;
  path: string;
  status?: number;
  /** The answer's Connection header: "keep-alive", or "close" when the server ends the connection after it. */
  connection?: string;
  body?: unknown;
  /** The local port of the TCP connection that carried it: the same port means the same connection. */
  localPort?: number;
  /** The client-side error instead of an answer: ECONNRESET for a reset or a connection closed under the request. */
  error?: string;
}

/** One TCP connection kept alive between requests (an http.Agent with a single socket). */
export class KeepAliveConnection {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  readonly exchanges: Exchange[] = [];

  constructor(private readonly port: number) {}

  /** Sends one request on the connection; always resolves, with the answer or the error. */
  send(method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Exchange> {
    const exchange: Exchange = { method, path };
    this.exchanges.push(exchange);
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { ...options.headers };
    if (payload !== undefined) headers['Content-Type'] = 'application/json';
    return new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: this.port, method, path, headers, agent: this.agent }, (res) => {
        exchange.localPort = res.socket.localPort;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error: NodeJS.ErrnoException) => resolve(Object.assign(exchange, { error: error.code ?? error.message })));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          Object.assign(exchange, { status: res.statusCode, connection: res.headers.connection, body: text ? JSON.parse(text) : undefined });
          resolve(exchange);
        });
      });
      req.setTimeout(15_000, () => req.destroy(new Error('timed out')));
      req.on('error', (error: NodeJS.ErrnoException) => resolve(Object.assign(exchange, { error: error.code ?? error.message })));
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
