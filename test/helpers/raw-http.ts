// Requests supertest cannot make (repeated headers, a body with no Content-Type), sent with node:http.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthApp } from '../../src/app';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: unknown;
}

export interface RawRequest {
  method: string;
  path: string;
  /** Each entry is sent as its own header line, so a name may repeat. */
  headers?: [string, string][];
  body?: string;
}

/** Listens on an ephemeral port of 127.0.0.1, sends one request, and closes the server. */
export async function rawRequest(app: AuthApp, request: RawRequest): Promise<RawResponse> {
  const server = await new Promise<http.Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise<RawResponse>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: request.method, path: request.path, agent: false });
      const grouped = new Map<string, string[]>();
      for (const [name, value] of request.headers ?? []) {
        grouped.set(name, [...(grouped.get(name) ?? []), value]);
      }
      for (const [name, values] of grouped) req.setHeader(name, values.length === 1 ? values[0]! : values);
      if (request.body !== undefined) req.setHeader('Content-Length', Buffer.byteLength(request.body));
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = undefined;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
      });
      req.end(request.body);
    });
  } finally {
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  }
}
