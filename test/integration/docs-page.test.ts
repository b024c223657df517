// GET /docs: Swagger UI from this server alone (no CDN), under a CSP of its own that allows nothing inline.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { DOCS_ASSETS, DOCS_CSP } from '../../src/http/routes/docs-routes';
import { buildTestApp } from '../helpers/build-app';
import { expectError } from '../helpers/fixtures';

const SWAGGER_UI_DIST = path.dirname(require.resolve('swagger-ui-dist/package.json'));

/** The CSP as directive → sources. */
function directives(csp: string): Record<string, string[]> {
  return Object.fromEntries(
    csp
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0])
      .map(([name, ...sources]) => [name!, sources]),
  );
}

/** Every URL the page loads: script src, link href. */
function pageUrls(html: string): string[] {
  return [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]*)"/g)].map((match) => match[1]!);
}

describe('GET /docs', () => {
  const { app } = buildTestApp();

  it('answers an HTML page under its own policy: scripts, styles and calls from this origin only, nothing inline', async () => {
    const res = await request(app).get('/docs');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(DOCS_CSP);
    expect(directives(DOCS_CSP)).toEqual({
      'default-src': ["'none'"],
      'script-src': ["'self'"],
      'style-src': ["'self'"],
      'img-src': ["'self'", 'data:'],
      'connect-src': ["'self'"],
      'frame-ancestors': ["'none'"],
      'base-uri': ["'none'"],
      'form-action': ["'none'"],
    });
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('has no inline script, style or event handler, which that policy would block', async () => {
    const html = (await request(app).get('/docs')).text;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(3);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc="/);
      expect(body!.trim()).toBe('');
    }
    expect(html).not.toMatch(/<style\b/i);
    expect(html).not.toMatch(/\sstyle\s*=/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
  });

  it('loads every asset from this server (no CDN), each with its type, revalidated rather than refetched', async () => {
    const urls = pageUrls((await request(app).get('/docs')).text);
    expect(urls.sort()).toEqual(DOCS_ASSETS.map((name) => `/docs/${name}`).sort());
    const types: Record<string, RegExp> = {
      css: /^text\/css; charset=utf-8$/,
      js: /^(text|application)\/javascript; charset=utf-8$/,
      png: /^image\/png$/,
    };
    for (const url of urls) {
      const res = await request(app).get(url).buffer(true);
      const body: Buffer = Buffer.isBuffer(res.body) ? res.body : Buffer.from(res.text ?? '');
      expect({ url, status: res.status, type: res.headers['content-type'] }).toEqual({
        url,
        status: 200,
        type: expect.stringMatching(types[url.split('.').pop()!]!),
      });
      expect({ url, bytes: body.length > 100 }).toEqual({ url, bytes: true });
      expect({ url, cache: res.headers['cache-control'] }).toEqual({ url, cache: 'no-cache' });
    }
  });

  it('serves Swagger UI itself from the installed swagger-ui-dist, byte for byte', async () => {
    for (const name of ['swagger-ui-bundle.js', 'swagger-ui.css']) {
      const res = await request(app).get(`/docs/${name}`).buffer(true);
      expect(res.text).toBe(readFileSync(path.join(SWAGGER_UI_DIST, name), 'utf8'));
    }
  });

  it("points Swagger UI at this server's /openapi.json, without the online validator or a spec-URL box", async () => {
    const init = await request(app).get('/docs/swagger-ui-init.js');
    expect(init.status).toBe(200);
    expect(init.text).toContain('"swaggerUrl": "/openapi.json"');
    expect(init.text).toContain('"validatorUrl": null');
    expect(init.text).toContain('"layout": "BaseLayout"');
    expect(init.text).not.toMatch(/https?:\/\//);
  });

  it('renders a document that has the second-factor operations, each with its summary, under Authentication', async () => {
    const init = (await request(app).get('/docs/swagger-ui-init.js')).text;
    const specUrl = /"swaggerUrl": "([^"]+)"/.exec(init)![1]!;
    const { paths } = (await request(app).get(specUrl)).body as { paths: Record<string, Record<string, { operationId: string; summary: string; tags: string[] }>> };
    const shown = (method: string, route: string) => {
      const { operationId, summary, tags } = paths[route]![method]!;
      return { operationId, summary: summary.length > 0, tags };
    };
    expect({
      enrol: shown('post', '/mfa/totp'),
      confirm: shown('post', '/mfa/totp/confirm'),
      remove: shown('delete', '/mfa/totp'),
      loginMfa: shown('post', '/login/mfa'),
    }).toEqual({
      enrol: { operationId: 'enrolTotp', summary: true, tags: ['Authentication'] },
      confirm: { operationId: 'confirmTotp', summary: true, tags: ['Authentication'] },
      remove: { operationId: 'deleteTotp', summary: true, tags: ['Authentication'] },
      loginMfa: { operationId: 'loginMfa', summary: true, tags: ['Authentication'] },
    });
  });

  it('renders a document that has the admin operations, each with its summary, under Admin, and the metrics scrape under Service', async () => {
    const init = (await request(app).get('/docs/swagger-ui-init.js')).text;
    const specUrl = /"swaggerUrl": "([^"]+)"/.exec(init)![1]!;
    const { paths } = (await request(app).get(specUrl)).body as { paths: Record<string, Record<string, { operationId: string; summary: string; tags: string[] }>> };
    const shown = Object.entries(paths).flatMap(([route, item]) =>
      Object.entries(item)
        .filter(([, op]) => op.tags.includes('Admin') || route === '/metrics')
        .map(([method, { operationId, summary, tags }]) => ({ route: `${method.toUpperCase()} ${route}`, operationId, summary: summary.length > 0, tags })),
    );
    const admin = (route: string, operationId: string) => ({ route, operationId, summary: true, tags: ['Admin'] });
    expect(shown).toEqual([
      admin('GET /admin/users', 'listUsers'),
      admin('POST /admin/users', 'createUser'),
      admin('GET /admin/users/{id}', 'getUser'),
      admin('PATCH /admin/users/{id}', 'updateUser'),
      admin('DELETE /admin/users/{id}', 'deleteUser'),
      admin('DELETE /admin/users/{id}/sessions', 'endUserSessions'),
      admin('DELETE /admin/users/{id}/mfa', 'removeUserFactors'),
      admin('GET /admin/audit', 'listAuditEvents'),
      { route: 'GET /metrics', operationId: 'metrics', summary: true, tags: ['Service'] },
    ]);
  });

  it("serves nothing else of swagger-ui-dist: other files are the API's 404", async () => {
    const others = ['package.json', 'index.html', 'swagger-initializer.js', 'swagger-ui.js.map', 'oauth2-redirect.html', '../package.json'];
    for (const url of others.map((name) => `/docs/${name}`)) {
      const res = await request(app).get(url);
      expect({ url, status: res.status }).toEqual({ url, status: 404 });
      expectError(res, 404, 'not_found');
    }
  });

  it("leaves every other response under the API's policy, default-src 'none'", async () => {
    const api = (await request(app).get('/health')).headers['content-security-policy'];
    expect(directives(api!)['default-src']).toEqual(["'none'"]);
    for (const url of ['/openapi.json', '/no/such/route', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui-init.js']) {
      const res = await request(app).get(url);
      expect({ url, csp: res.headers['content-security-policy'] }).toEqual({ url, csp: api });
    }
  });
});
