// The demo SPA at GET /: three files from public/ and the QR code module, under a strict page-only CSP; the API keeps its own.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { DEMO_CSP, PUBLIC_DIR, QRCODE_MODULE } from '../../src/http/routes/demo-routes';
import { buildTestApp } from '../helpers/build-app';
import { ROOT } from '../helpers/child-process';
import { expectError } from '../helpers/fixtures';

const { app } = buildTestApp();
const file = (name: string) => readFileSync(path.join(PUBLIC_DIR, name), 'utf8');

/** The CSP header as a directive → sources map. */
function directives(csp: string): Record<string, string> {
  return Object.fromEntries(
    csp.split(';').map((part) => {
      const [name, ...sources] = part.trim().split(/\s+/);
      return [name!, sources.join(' ')];
    }),
  );
}

describe('GET /', () => {
  it('serves public/index.html as UTF-8 HTML with the security headers and no caching', async () => {
    const res = await request(app).get('/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.text).toBe(file('index.html'));
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it("has its own strict CSP: scripts, styles and calls from 'self' only, nothing inline, no framing", async () => {
    const res = await request(app).get('/');
    expect(res.headers['content-security-policy']).toBe(DEMO_CSP);
    expect(directives(res.headers['content-security-policy']!)).toEqual({
      'default-src': "'none'",
      'script-src': "'self'",
      'style-src': "'self'",
      'connect-src': "'self'",
      'img-src': "'self' data:",
      'frame-ancestors': "'none'",
      'base-uri': "'none'",
      'form-action': "'none'",
    });
  });

  it('answers HEAD / without a body, and other methods with 405 and Allow', async () => {
    const head = await request(app).head('/');
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(head.text).toBeUndefined();
    const post = await request(app).post('/').send({});
    expectError(post, 405, 'method_not_allowed');
    expect(post.headers['allow']).toBe('GET, HEAD');
  });

  it('leaves the API its own CSP, default-src none with nothing opened', async () => {
    const res = await request(app).get('/health');
    expect(directives(res.headers['content-security-policy']!)).toEqual({
      'default-src': "'none'",
      'frame-ancestors': "'none'",
      'base-uri': "'none'",
      'form-action': "'none'",
    });
  });
});

describe('the page assets', () => {
  it.each([
    ['/demo/app.js', 'app.js', 'text/javascript; charset=utf-8'],
    ['/demo/app.css', 'app.css', 'text/css; charset=utf-8'],
  ])('serves %s from public/%s as %s', async (route, name, type) => {
    const res = await request(app).get(route);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(type);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.text).toBe(file(name));
  });

  it('serves /demo/qrcode.mjs as the installed qrcode-generator ES module, byte for byte, which app.js imports from this origin', async () => {
    const res = await request(app).get('/demo/qrcode.mjs');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(DEMO_CSP);
    expect(res.text).toBe(readFileSync(QRCODE_MODULE, 'utf8'));
    expect(res.text).toMatch(/^export default qrcode;$/m);
    expect(QRCODE_MODULE).toBe(path.join(ROOT, 'node_modules', 'qrcode-generator', 'dist', 'qrcode.mjs'));
    expect([...file('app.js').matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1])).toEqual(['./qrcode.mjs', '../auth-client.js']);
  });

  it.each(['/demo', '/demo/', '/demo/index.html', '/demo/..%2fpackage.json', '/index.html', '/app.js', '/public/app.js', '/qrcode.mjs', '/demo/qrcode.js', '/demo/qrcode_UTF8.mjs'])(
    'exposes nothing else of public/ or the project: %s is 404 JSON',
    async (route) => {
      expectError(await request(app).get(route), 404, 'not_found');
    },
  );

  it('reads public/ from the project root, where the built server finds it too', () => {
    expect(PUBLIC_DIR).toBe(path.join(ROOT, 'public'));
  });
});

describe('the page source works under that CSP', () => {
  const html = file('index.html');

  it('loads exactly one script and one stylesheet, both from this origin, and nothing inline', () => {
    expect([...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])).toEqual([
      '<script type="module" src="/demo/app.js">',
    ]);
    expect([...html.matchAll(/<link\b[^>]*rel="stylesheet"[^>]*>/g)].map((m) => m[0])).toEqual([
      '<link rel="stylesheet" href="/demo/app.css">',
    ]);
    expect(html).not.toMatch(/<script>|<style\b|\sstyle=|\son[a-z]+=|javascript:/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
  });

  it('builds the DOM from text, never from HTML strings, and evaluates no strings', () => {
    const script = file('app.js');
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/);
    expect(script).toContain('textContent');
  });
});
