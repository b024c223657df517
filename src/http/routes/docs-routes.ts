// GET /openapi.json (the document, built once here) and GET /docs (Swagger UI, every asset served locally).
import { Router, type RequestHandler } from 'express';
import swaggerUi from 'swagger-ui-express';
import { buildOpenApiDocument } from '../openapi/document';
import { API_OPERATIONS } from '../openapi/operations';
import { defineRoute, mountPrefix } from '../routing';
import { series } from '../series';

export const DOCS_PATH = '/docs';

/**
 * The docs page's own policy: Swagger UI's scripts and stylesheets from this origin, its CSS icons
 * as data: images, and calls to this API ("Try it out"). Nothing inline, nothing from elsewhere.
 * Every other response keeps the API's `default-src 'none'`.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** The files of swagger-ui-dist the page loads; nothing else of the package is served. */
export const DOCS_ASSETS = [
  'swagger-ui.css',
  'index.css',
  'favicon-32x32.png',
  'swagger-ui-bundle.js',
  'swagger-ui-standalone-preset.js',
  // Written by swagger-ui-express from the options below.
  'swagger-ui-init.js',
] as const;

// Our own page rather than swagger-ui-express's: its template needs inline <style> (a looser CSP)
// and relative asset URLs that only resolve under /docs/. `base` is where the API is mounted ('' at the root).
function page(base: string): string {
  const docs = `${base}${DOCS_PATH}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>auth-server API</title>
  <link rel="stylesheet" href="${docs}/swagger-ui.css">
  <link rel="stylesheet" href="${docs}/index.css">
  <link rel="icon" type="image/png" href="${docs}/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${docs}/swagger-ui-bundle.js"></script>
  <script src="${docs}/swagger-ui-standalone-preset.js"></script>
  <script src="${docs}/swagger-ui-init.js"></script>
</body>
</html>
`;
}

const SWAGGER_OPTIONS = {
  // No top bar: its spec-URL box would invite loading documents from elsewhere (the CSP refuses them anyway).
  layout: 'BaseLayout',
  deepLinking: true,
  // Swagger UI would otherwise send the document to validator.swagger.io.
  validatorUrl: null,
  // Never keep an access token typed into "Authorize" in localStorage.
  persistAuthorization: false,
};

const ASSET_PATHS = new Set<string>(DOCS_ASSETS.map((name) => `/${name}`));

/**
 * Lets only the listed files through to swagger-ui-express; anything else under /docs/ is the API's
 * 404. Assets hold no personal data: a browser may keep them but must revalidate (ETag), instead of
 * fetching 2 MB of Swagger UI again under the API's no-store.
 */
const onlyPageAssets: RequestHandler = (req, res, next) => {
  if (!ASSET_PATHS.has(req.path)) return next('router');
  res.set('Cache-Control', 'no-cache');
  next();
};

/** What the docs need to know of where they are mounted: the page, the document and Swagger UI's start-up script differ by prefix. */
interface MountedDocs {
  page: string;
  json: string;
  assets: RequestHandler;
}

/** Mount points are few (the root, a host app's prefix); more than this many is not a mount point but a pattern's values. */
const MAX_MOUNTS = 8;

export function docsRoutes(): Router {
  const router = Router();
  const document = buildOpenApiDocument(API_OPERATIONS);
  const mounts = new Map<string, MountedDocs>();
  // req.baseUrl is the prefix the router was reached under ('' at the root); each is built once. A
  // prefix that is not plain path segments is not written into the page: the docs act as at the root.
  const docsFor = (baseUrl: string): MountedDocs => {
    const base = mountPrefix(baseUrl) ?? '';
    let docs = mounts.get(base);
    if (docs === undefined) {
      // Under a prefix, the document's server is the prefix, so that its paths (and "Try it out") resolve under it.
      const json = JSON.stringify(base === '' ? document : { ...document, servers: [{ url: base }] });
      const swaggerUrl = `${base}/openapi.json`;
      docs = { page: page(base), json, assets: series(...swaggerUi.serveFiles(undefined, { swaggerUrl, swaggerOptions: SWAGGER_OPTIONS })) };
      if (mounts.size < MAX_MOUNTS) mounts.set(base, docs);
    }
    return docs;
  };

  defineRoute(router, '/openapi.json', {
    get: [(req, res) => void res.type('application/json').send(docsFor(req.baseUrl).json)],
  });

  defineRoute(router, DOCS_PATH, {
    get: [(req, res) => void res.set('Content-Security-Policy', DOCS_CSP).type('html').send(docsFor(req.baseUrl).page)],
  });

  // Inside router.use(DOCS_PATH, ...), req.baseUrl ends with /docs: the mount point is what precedes it.
  router.use(DOCS_PATH, onlyPageAssets, (req, res, next) => docsFor(req.baseUrl.slice(0, -DOCS_PATH.length)).assets(req, res, next));

  return router;
}
