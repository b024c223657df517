// A second service that trusts the auth server's tokens without calling it: a tiny notes API guarded by auth-server/verify.
import express, { type ErrorRequestHandler } from 'express';
import { authErrorHandler, createVerifyToken, requireRole, type IsRevoked } from 'auth-server/verify';

interface Note {
  id: number;
  owner: string;
  text: string;
}

const env = process.env;

/** "kid:secret,kid:secret": the auth server's JWT_SECRET_ID:JWT_SECRET, plus JWT_VERIFY_SECRETS while it rotates. */
function sharedKeys(text: string | undefined): Record<string, string> | undefined {
  if (!text) return undefined;
  const entries = text.split(',').map((entry) => {
    const colon = entry.indexOf(':');
    return [entry.slice(0, colon).trim(), entry.slice(colon + 1).trim()];
  });
  return Object.fromEntries(entries);
}

/**
 * The revocation check, by asking the auth server (RFC 7662). One round trip per request buys
 * instant logout; without it a logged-out token still works here until it expires (ACCESS_TOKEN_TTL).
 */
function introspection(url: string, client: string): IsRevoked {
  const authorization = `Basic ${Buffer.from(client).toString('base64')}`;
  return async (_sessionId, { token }) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
      signal: AbortSignal.timeout(2000),
    });
    if (response.status !== 200) throw new Error(`introspection answered ${response.status}`);
    const body = (await response.json()) as { active?: unknown };
    return body.active !== true;
  };
}

const verifyToken = createVerifyToken({
  keys: sharedKeys(env.AUTH_KEYS),
  jwks: env.AUTH_JWKS_URL || undefined,
  issuer: env.AUTH_ISSUER || 'auth-server',
  audience: env.AUTH_AUDIENCE || 'api',
  clockTolerance: 5,
  isRevoked:
    env.AUTH_INTROSPECT_URL && env.AUTH_INTROSPECT_CLIENT
      ? introspection(env.AUTH_INTROSPECT_URL, env.AUTH_INTROSPECT_CLIENT)
      : undefined,
});

const notes: Note[] = [];
const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '10kb' }));

app.get('/notes', verifyToken, (req, res) => {
  res.json({ notes: notes.filter((note) => note.owner === req.auth!.userId) });
});

app.post('/notes', verifyToken, (req, res) => {
  const text: unknown = req.body?.text;
  if (typeof text !== 'string' || text.length === 0 || text.length > 1000) {
    res.status(400).json({ error: 'invalid_request', error_description: 'text must be 1 to 1000 characters.' });
    return;
  }
  const note = { id: notes.length + 1, owner: req.auth!.userId, text };
  notes.push(note);
  res.status(201).json({ note });
});

app.get('/admin/notes', verifyToken, requireRole('admin'), (_req, res) => {
  res.json({ notes });
});

app.use((_req, res) => {
  res.status(404).json({ error: 'not_found', error_description: 'No such route.' });
});
// The verifier's 401/403 (with their WWW-Authenticate challenge) first, then everything else.
app.use(authErrorHandler());
const lastResort: ErrorRequestHandler = (error, _req, res, _next) => {
  console.error(error);
  res.status(500).json({ error: 'server_error', error_description: 'An unexpected error occurred.' });
};
app.use(lastResort);

const port = Number(env.PORT || 4000);
const server = app.listen(port, '127.0.0.1', () => {
  console.log(`notes service listening on http://127.0.0.1:${port}`);
});
process.once('SIGTERM', () => server.close());
