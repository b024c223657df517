// An app of its own that embeds the auth server: its routes under /auth, and notes of its own guarded by the same tokens.
const express = require('express');
const { createAuth } = require('auth-server');

/**
 * Builds the app from `env` (the auth server's variables: JWT_SECRET, DATABASE_URL, ...).
 * Resolves to the app and the close() that ends the auth server's stores, for tests and shutdown.
 */
async function buildApp(env = process.env) {
  const auth = await createAuth({ env });
  const app = express();
  app.disable('x-powered-by');

  // The auth router before this app's own body parser: it parses (and limits) its own bodies.
  app.use('/auth', auth.router);
  app.use(express.json({ limit: '10kb' }));

  const notesByOwner = new Map();
  app.get('/notes', auth.verifyToken, (req, res) => {
    res.json({ notes: notesByOwner.get(req.auth.userId) ?? [] });
  });
  app.post('/notes', auth.verifyToken, (req, res) => {
    const text = req.body?.text;
    if (typeof text !== 'string' || text.length === 0 || text.length > 1000) {
      res.status(400).json({ error: 'invalid_request', error_description: 'text must be 1 to 1000 characters.' });
      return;
    }
    const notes = notesByOwner.get(req.auth.userId) ?? [];
    const note = { id: notes.length + 1, text };
    notesByOwner.set(req.auth.userId, [...notes, note]);
    res.status(201).json({ note });
  });
  app.get('/stats', auth.verifyToken, auth.requireRole('admin'), (_req, res) => {
    res.json({ owners: notesByOwner.size });
  });

  return { app, close: auth.close };
}

module.exports = { buildApp };
