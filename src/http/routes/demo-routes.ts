// GET / and its assets: the demo SPA (public/) and the QR code module it imports, the living example of cookie mode and TOTP in a browser.
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

/**
 * The ES module build of qrcode-generator (MIT), which draws the enrolment QR code in the page. Its
 * package exports only ".", so the file is found beside the CommonJS entry that resolves.
 */
export const QRCODE_MODULE = path.join(path.dirname(require.resolve('qrcode-generator')), 'qrcode.mjs');

const ASSETS = [
  { route: '/', file: path.join(PUBLIC_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  { route: '/demo/app.js', file: path.join(PUBLIC_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  { route: '/demo/app.css', file: path.join(PUBLIC_DIR, 'app.css'), type: 'text/css; charset=utf-8' },
  { route: '/demo/qrcode.mjs', file: QRCODE_MODULE, type: 'text/javascript; charset=utf-8' },
] as const;

/** Serves the three files of public/ and the QR module, each read once when the router is built (no directory is exposed). */
export function demoRoutes(): Router {
  const router = Router();
  for (const asset of ASSETS) {
    const body = readFileSync(asset.file);
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
