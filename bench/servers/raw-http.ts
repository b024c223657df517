// The floor: node:http alone answering GET /profile with the same JSON, no routing, no checks.
import http from 'node:http';
import { announce, benchEnv } from './common';

const { port, users } = benchEnv();
const body = JSON.stringify({ user: [...users.values()][0] });

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/profile') {
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  res.writeHead(404).end();
});
announce(server, port);
