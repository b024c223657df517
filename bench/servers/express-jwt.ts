// express-jwt as its README sets it up: the secret, HS256 only, issuer and audience; claims land in req.auth.
import http from 'node:http';
import express from 'express';
import { expressjwt, type Request as JwtRequest } from 'express-jwt';
import { announce, benchEnv } from './common';

const { port, secret, issuer, audience, users } = benchEnv();

const app = express();
app.get('/profile', expressjwt({ secret, algorithms: ['HS256'], issuer, audience }), (req: JwtRequest, res) => {
  res.json({ user: users.get(String(req.auth!.sub)) });
});
announce(http.createServer(app), port);
