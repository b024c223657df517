// passport with passport-jwt as its README sets it up: Bearer header, the secret as secretOrKey, issuer and audience.
import http from 'node:http';
import express from 'express';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { announce, benchEnv, type BenchUser } from './common';

const { port, secret, issuer, audience, users } = benchEnv();

passport.use(
  new JwtStrategy(
    { jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), secretOrKey: secret, issuer, audience },
    (payload: { sub?: string }, done: (error: unknown, user?: BenchUser | false) => void) => {
      done(null, users.get(String(payload.sub)) ?? false);
    },
  ),
);

const app = express();
app.use(passport.initialize());
app.get('/profile', passport.authenticate('jwt', { session: false }), (req, res) => {
  res.json({ user: req.user });
});
announce(http.createServer(app), port);
