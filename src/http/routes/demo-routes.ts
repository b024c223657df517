// GET / and its assets: the demo SPA (public/), the QR code module and the browser client it imports (GET /auth-client.js).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import { defineRoute, mountPrefix } from '../routing';

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

/** The browser client (an ES module with JSDoc types), served at GET /auth-client.js and exported as `auth-server/client`. */
export const CLIENT_MODULE = path.join(PUBLIC_DIR, 'auth-client.mjs');

/**
 * How each file is kept by caches. The page and its own assets change with the server and are not
 * worth a validator: no-store, as the API. The client is for other apps too: `no-cache` with a
 * strong ETag lets a browser keep it and ask with If-None-Match (a 304 without a body), and an
 * upgraded server's client is taken at the next page load.
 */
type Caching = 'no-store' | 'revalidate';

const ASSETS: readonly { route: string; file: string; type: string; caching: Caching }[] = [
  { route: '/', file: path.join(PUBLIC_DIR, 'index.html'), type: 'text/html; charset=utf-8', caching: 'no-store' },
  { route: '/demo/app.js', file: path.join(PUBLIC_DIR, 'app.js'), type: 'text/javascript; charset=utf-8', caching: 'no-store' },
  { route: '/demo/app.css', file: path.join(PUBLIC_DIR, 'app.css'), type: 'text/css; charset=utf-8', caching: 'no-store' },
  { route: '/demo/qrcode.mjs', file: QRCODE_MODULE, type: 'text/javascript; charset=utf-8', caching: 'no-store' },
  { route: '/auth-client.js', file: CLIENT_MODULE, type: 'text/javascript; charset=utf-8', caching: 'revalidate' },
];

/**
 * The page names its assets by absolute path; under a mount prefix (createAuth's router at /auth)
 * they are the prefix's. The file on disk stays plain HTML, the same bytes at the root.
 */
function underPrefix(html: Buffer, prefix: string | null): Buffer {
  // null: a prefix that is not plain path segments (see mountPrefix) stays out of the page.
  if (!prefix) return html;
  return Buffer.from(html.toString('utf8').replace(/(src|href)="\/demo\//g, `$1="${prefix}/demo/`));
}

/** Serves the files of public/ and the QR module, each read once when the router is built (no directory is exposed). */
export function demoRoutes(): Router {
  const router = Router();
  for (const asset of ASSETS) {
    const body = readFileSync(asset.file);
    const etag = asset.caching === 'revalidate' ? `"${createHash('sha256').update(body).digest('base64url')}"` : '';
    defineRoute(router, asset.route, {
      get: [
        (req, res) => {
          res.set({ 'Content-Type': asset.type, 'Content-Security-Policy': DEMO_CSP });
          if (asset.caching === 'revalidate') {
            res.set({ 'Cache-Control': 'no-cache', ETag: etag }).removeHeader('Pragma');
            // req.fresh compares If-None-Match with the ETag just set (GET and HEAD only).
            if (req.fresh) {
              res.status(304).end();
              return;
            }
          }
          res.send(asset.route === '/' ? underPrefix(body, mountPrefix(req.baseUrl)) : body);
        },
      ],
    });
  }
  return router;
}
