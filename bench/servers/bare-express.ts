// The reference of every ratio: one Express 5 route answering GET /profile, no middleware, no token.
import http from 'node:http';
import express from 'express';
import { announce, benchEnv } from './common';

const { port, users } = benchEnv();
const [user] = [...users.values()];

const app = express();
app.get('/profile', (_req, res) => {
  res.json({ user: users.get(user!.id) });
});
announce(http.createServer(app), port);
