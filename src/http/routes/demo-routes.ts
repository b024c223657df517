// GET / and its two assets: the demo SPA (public/), the living example of cookie mode in a browser.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import { defineRoute } from '../routing';

/** public/ sits beside src/ and dist/, so this resolves from either (src/http/routes or dist/http/routes). */
export const PUBLIC_DIR = path.resolve(__dirname, '../../../public');

/**
 * The page's own policy, looser than the API's `default-src 'none'` only where a page must be:
 * its script, its stylesheet and its calls come from this origin, nothing inline, nothing else.
 * A token thief would need inline script or another origin, and has neither.
 */
export const DEMO_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const ASSETS = [
  { route: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { route: '/demo/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8' },
  { route: '/demo/app.css', file: 'app.css', type: 'text/css; charset=utf-8' },
] as const;

/** Serves the three files of public/, read once when the router is built (no directory is exposed). */
export function demoRoutes(): Router {
  const router = Router();
  for (const asset of ASSETS) {
    const body = readFileSync(path.join(PUBLIC_DIR, asset.file));
    defineRoute(router, asset.route, {
      get: [
        (_req, res) => {
          res.set({ 'Content-Type': asset.type, 'Content-Security-Policy': DEMO_CSP }).send(body);
        },
      ],
    });
  }
  return router;
}
