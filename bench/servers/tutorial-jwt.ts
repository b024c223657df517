// The middleware of countless tutorials: jsonwebtoken verify with the secret as a string, no revocation check.
import http from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import jwt from 'jsonwebtoken';
import { announce, benchEnv } from './common';

const { port, secret, users } = benchEnv();

function authenticateToken(req: Request & { user?: jwt.JwtPayload }, res: Response, next: NextFunction) {
  const header = req.headers.authorization;
  const token = header && header.split(' ')[1];
  if (!token) {
    res.sendStatus(401);
    return;
  }
  jwt.verify(token, secret, (error, payload) => {
    if (error) {
      res.sendStatus(403);
      return;
    }
    req.user = payload as jwt.JwtPayload;
    next();
  });
}

const app = express();
app.get('/profile', authenticateToken, (req: Request & { user?: jwt.JwtPayload }, res) => {
  res.json({ user: users.get(String(req.user!.sub)) });
});
announce(http.createServer(app), port);
