// A TCP proxy in front of Redis that a test can cut or freeze, to play a Redis outage without touching the shared server.
import net from 'node:net';

export type ProxyMode = 'up' | 'down' | 'frozen';

/**
 * `up` forwards both ways; `down` drops every connection and refuses new ones (Redis stopped);
 * `frozen` keeps connections open but passes nothing (Redis hung, or a silent network partition).
 */
export class TcpProxy {
  private mode: ProxyMode = 'up';
  private readonly pairs = new Set<[net.Socket, net.Socket]>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(targetUrl: string): Promise<TcpProxy> {
    const target = new URL(targetUrl);
    const server = net.createServer();
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
    });
    const proxy = new TcpProxy(server, port);
    server.on('connection', (client) => proxy.accept(client, target.hostname, Number(target.port || 6379)));
    return proxy;
  }

  /** The target URL rewritten to go through the proxy (credentials and database kept). */
  urlFor(targetUrl: string): string {
    const url = new URL(targetUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  set(mode: ProxyMode): void {
    this.mode = mode;
    if (mode === 'down') {
      for (const [client, upstream] of this.pairs) {
        client.destroy();
        upstream.destroy();
      }
      this.pairs.clear();
    }
  }

  async close(): Promise<void> {
    this.set('down');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket, host: string, port: number): void {
    if (this.mode === 'down') {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host, port });
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.pairs.add(pair);
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk: Buffer) => {
        if (this.mode === 'up') to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  }
}
