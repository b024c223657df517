// The demo SPA: how a browser app should use auth-server (cookie mode, Bearer calls, silent refresh).
//
// The rules it follows, and why:
// - The access token lives in a variable of this module, never in localStorage or sessionStorage,
//   where any script injected into the page could read it. A reload loses it on purpose.
// - The refresh token never reaches this script: the server sets it as the HttpOnly cookie
//   `__Host-refresh_token` when a request carries `X-Token-Mode: cookie`, and reads it back only
//   when that header is present. The `__Host-` prefix keeps sibling subdomains from planting one.
// - Every call to a protected route sends `Authorization: Bearer <access token>`. Cookies are
//   never what authorises those calls, so a cross-site request cannot borrow them.
// - The page refreshes shortly before the access token expires, and again (once) when a call
//   answers 401 "token expired". After a reload it refreshes at once, through the cookie.
// - With two-step sign-in on, the right password answers 403 mfa_required with an mfa_token: the
//   page keeps that token in memory only, asks for the code, and finishes at POST /login/mfa.
// - The QR code of a new TOTP secret is drawn here, by the qrcode-generator module this server
//   serves from its own origin: the secret never goes to a QR service on another site.

import qrcode from './qrcode.mjs';

// The server's URL. Empty because the server serves this page itself. An SPA hosted elsewhere
// puts the server's URL here, and the server lists the SPA's origin in CORS_ORIGINS.
const API = '';

// Refresh this many seconds before the access token expires; at most a fifth of its lifetime, so
// that a short ACCESS_TOKEN_TTL cannot make the page refresh in a loop.
const REFRESH_LEAD_SECONDS = 60;
const LOG_LENGTH = 12;

/** What this tab knows about its session. Nothing here is ever written to storage. */
const auth = {
  accessToken: null,
  user: null,
  /** When the access token expires, by this browser's clock (ms). */
  expiresAt: 0,
  refreshCount: 0,
  lastRefreshReason: '',
  timer: undefined,
  /** The refresh in flight, if any: everything that needs one in this tab waits for the same one. */
  refreshing: null,
  /** The mfa_token of a sign-in waiting for its code (5 minutes, one sign-in); never stored. */
  mfaToken: null,
};

/** An error answer from the server, in the contract's shape ({error, error_description}). */
class ApiError extends Error {
  constructor(status, body) {
    super(body?.error_description ?? `The server answered ${status}.`);
    this.status = status;
    this.code = body?.error ?? 'unknown';
    this.details = body?.details ?? [];
    this.body = body ?? {};
  }
}

// ---------------------------------------------------------------------------------------------
// Talking to the server

/**
 * One call to the API. `cookieMode` adds the header that makes the server set or read the refresh
 * cookie; `bearer` sends the access token; `why` only labels the call in the page's request log.
 */
async function request(method, path, { body, bearer = false, cookieMode = false, why = '' } = {}) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  // Also the CSRF defence: a cross-site form cannot send a custom header, and without it the
  // server ignores the cookie.
  if (cookieMode) headers['X-Token-Mode'] = 'cookie';
  if (bearer) headers.Authorization = `Bearer ${auth.accessToken}`;

  let response;
  try {
    response = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      // Lets the browser send and store the refresh cookie. Same-origin it changes nothing; an SPA
      // on another origin needs it, or the cookie never travels.
      credentials: 'include',
    });
  } catch {
    logRequest(method, path, 'failed', why);
    throw new ApiError(0, { error: 'network', error_description: 'The server could not be reached.' });
  }
  logRequest(method, path, response.status, why);
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Takes a TokenResponse: keeps the access token in memory and plans the next silent refresh. */
function acceptTokens(tokens) {
  auth.accessToken = tokens.access_token;
  auth.user = tokens.user;
  // expires_in rather than expires_at: counted from our own clock, a browser whose clock is off
  // by minutes still refreshes on time.
  auth.expiresAt = Date.now() + tokens.expires_in * 1000;
  const lead = Math.min(REFRESH_LEAD_SECONDS, tokens.expires_in / 5);
  clearTimeout(auth.timer);
  auth.timer = setTimeout(() => guard(refresh('before expiry')), (tokens.expires_in - lead) * 1000);
  renderToken();
}

/**
 * Swaps the refresh cookie for a new access token (and a new cookie). One at a time in this tab.
 * Another tab refreshing with the same cookie at the same moment is fine: within the server's
 * grace window both get the same successor, so neither is taken for a thief replaying a token.
 */
function refresh(reason) {
  auth.refreshing ??= request('POST', '/refresh', { cookieMode: true, why: reason })
    .then((tokens) => {
      auth.refreshCount += 1;
      auth.lastRefreshReason = reason;
      acceptTokens(tokens);
      return tokens;
    })
    .finally(() => {
      auth.refreshing = null;
    });
  return auth.refreshing;
}

/** Calls a protected route with the Bearer header; on "token expired" refreshes once and retries. */
async function authorized(method, path, body) {
  try {
    return await request(method, path, { bearer: true, body });
  } catch (error) {
    // Only an expired token is worth a refresh. "token revoked" or "token invalid" mean the
    // session is over (logged out, ended from another device): refreshing cannot bring it back.
    if (!(error instanceof ApiError && error.status === 401 && error.message === 'token expired')) throw error;
    await refresh('token expired');
    return request(method, path, { bearer: true, body });
  }
}

// ---------------------------------------------------------------------------------------------
// What the buttons do

async function logIn(email, password, register) {
  if (register) await request('POST', '/register', { body: { email, password } });
  let tokens;
  try {
    tokens = await request('POST', '/login', { body: { email, password }, cookieMode: true });
  } catch (error) {
    // The right password of an account with two-step sign-in: no session yet, a code is due.
    if (!(error instanceof ApiError && error.code === 'mfa_required')) throw error;
    auth.mfaToken = error.body.mfa_token;
    showCodeStep(true);
    return;
  }
  acceptTokens(tokens);
  await showSignedIn();
}

/** The second step of a sign-in: the mfa_token and a TOTP or recovery code, in cookie mode as /login. */
async function finishLogIn(code) {
  const tokens = await request('POST', '/login/mfa', { body: { mfa_token: auth.mfaToken, code }, cookieMode: true });
  auth.mfaToken = null;
  showCodeStep(false);
  acceptTokens(tokens);
  await showSignedIn();
}

async function showSignedIn() {
  const { user } = await authorized('GET', '/profile');
  renderProfile(user);
  renderMfa(user.mfa_enabled ? 'on' : 'off');
  await loadSessions();
  showView('signed-in');
}

/** Starts enrolment: a new secret, shown as a QR code and as text; nothing changes until it is confirmed. */
async function enrolTotp() {
  const { secret, otpauth_uri: uri } = await authorized('POST', '/mfa/totp');
  $('mfa-qr').src = qrDataUrl(uri);
  $('mfa-qr').dataset.uri = uri;
  $('mfa-secret').textContent = secret.match(/.{1,4}/g).join(' ');
  $('mfa-confirm-form').reset();
  renderMfa('setup');
  $('mfa-confirm-code').focus();
}

/** Confirms the new secret with the app's current code; the answer's recovery codes are shown this once. */
async function confirmTotp(code) {
  const { recovery_codes: codes } = await authorized('POST', '/mfa/totp/confirm', { code });
  $('mfa-recovery-codes').replaceChildren(...codes.map((recoveryCode) => element('li', { textContent: recoveryCode })));
  $('mfa-qr').removeAttribute('src');
  $('mfa-secret').textContent = '';
  auth.user = { ...auth.user, mfa_enabled: true };
  renderProfile(auth.user);
  renderMfa('recovery');
}

async function disableTotp(code) {
  await authorized('DELETE', '/mfa/totp', { code });
  auth.user = { ...auth.user, mfa_enabled: false };
  renderProfile(auth.user);
  renderMfa('off');
  notify('Two-step sign-in is off: the password alone signs in again.');
}

async function loadSessions() {
  const { sessions } = await authorized('GET', '/sessions');
  $('sessions-body').replaceChildren(...sessions.map(sessionRow));
}

async function endSession(id) {
  await authorized('DELETE', `/sessions/${encodeURIComponent(id)}`);
  await loadSessions();
}

/** Shows what a protected route answers, 403s included; a 401 goes up (the session is over). */
async function tryRoute(path) {
  try {
    const data = await authorized('GET', path);
    showResult(`200 GET ${path}\n${JSON.stringify(data, null, 2)}`, true);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    showResult(`${error.status} ${error.code}\n${error.message}`, false);
  }
}

async function logOut(scope) {
  try {
    // The cookie alone names the session, so an expired access token cannot get in the way; the
    // answer clears the cookie. With scope "global" every session of the user ends.
    await request('POST', '/logout', { cookieMode: true, body: scope === 'local' ? undefined : { scope } });
  } catch (error) {
    // 401: no cookie left, another tab logged out first. This tab is signed out either way.
    if (!(error instanceof ApiError && error.status === 401)) throw error;
  }
  signOut(scope === 'global' ? 'Logged out on every device.' : 'Logged out.');
}

/** Forgets the session in this tab: the access token, the timer, the profile on screen. */
function signOut(message) {
  clearTimeout(auth.timer);
  Object.assign(auth, { accessToken: null, user: null, expiresAt: 0, timer: undefined, mfaToken: null });
  $('sessions-body').replaceChildren();
  $('call-result').hidden = true;
  // Recovery codes and a pending secret are not left on screen for the next person.
  $('mfa-recovery-codes').replaceChildren();
  $('mfa-qr').removeAttribute('src');
  $('mfa-secret').textContent = '';
  showCodeStep(false);
  showView('signed-out');
  notify(message);
}

/**
 * Runs an action started by the page itself; a 401 that reaches here means the session is over
 * (ended in another tab or device, or the refresh cookie is gone), so the tab signs out.
 */
async function guard(promise) {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) signOut('Your session has ended. Please log in again.');
    else notify(error.message, true);
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering. Everything from the server goes in as text (textContent), never as HTML: a user
// agent or an email is data the page must not run.

const $ = (id) => document.getElementById(id);

function element(tag, properties = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, properties);
  node.append(...children);
  return node;
}

function showView(name) {
  $('signed-out').hidden = name !== 'signed-out';
  $('signed-in').hidden = name !== 'signed-in';
  $('who').textContent = name === 'signed-in' ? `Signed in as ${auth.user.email}` : 'Signed out';
  if (name === 'signed-out') $('email').focus();
}

/** Swaps the password form for the code form of a two-step sign-in, and back. */
function showCodeStep(asking) {
  $('auth-form').hidden = asking;
  $('sign-in-hint').hidden = asking;
  $('mfa-login-form').hidden = !asking;
  $('mfa-login-form').reset();
  $('mfa-login-error').hidden = true;
  $('signed-out').querySelector('h1').textContent = asking ? 'Enter your code' : 'Sign in';
  if (asking) $('mfa-login-code').focus();
}

/** The two-step card in one of its states: off, setup (QR code shown), recovery (codes shown once), on. */
function renderMfa(state) {
  const on = state === 'on' || state === 'recovery';
  $('mfa-status').textContent = on ? 'on' : 'off';
  $('mfa-status').classList.toggle('off', !on);
  $('mfa-off').hidden = state !== 'off';
  $('mfa-setup').hidden = state !== 'setup';
  $('mfa-recovery').hidden = state !== 'recovery';
  $('mfa-on').hidden = state !== 'on';
  for (const id of ['mfa-confirm-error', 'mfa-disable-error']) $(id).hidden = true;
  if (state !== 'recovery') $('mfa-recovery-codes').replaceChildren();
  if (state === 'on') $('mfa-on').reset();
}

/**
 * The otpauth URI as a QR code image (a data: URL, which the page's img-src allows). Error
 * correction M, 4 pixels a module and the 4-module quiet zone scanners need around it.
 */
function qrDataUrl(text) {
  const code = qrcode(0, 'M');
  code.addData(text, 'Byte');
  code.make();
  return code.createDataURL(4, 16);
}

function notify(message, isError = false) {
  const notice = $('notice');
  notice.textContent = message ?? '';
  notice.hidden = !message;
  notice.classList.toggle('is-error', isError);
}

function renderProfile(user) {
  $('profile-email').textContent = user.email;
  $('profile-role').textContent = user.role;
  $('profile-id').textContent = user.id;
  $('profile-created').textContent = formatTime(user.created_at);
  $('profile-mfa').textContent = user.mfa_enabled ? 'on (TOTP)' : 'off';
}

function renderToken() {
  const seconds = Math.max(0, Math.round((auth.expiresAt - Date.now()) / 1000));
  $('token-expiry').textContent = auth.accessToken ? formatDuration(seconds) : '–';
  $('token-refreshes').textContent = auth.refreshCount
    ? `${auth.refreshCount} (last: ${auth.lastRefreshReason})`
    : 'none yet';
}

function sessionRow(session) {
  const device = element('td', {}, element('span', { textContent: describeAgent(session.user_agent), title: session.user_agent }));
  if (session.current) device.append(' ', element('span', { className: 'tag', textContent: 'this browser' }));
  const end = session.current
    ? element('td')
    : element('td', {}, element('button', { type: 'button', className: 'quiet small', textContent: 'End', onclick: () => guard(endSession(session.id)) }));
  return element(
    'tr',
    { className: session.current ? 'current' : '' },
    device,
    element('td', { className: 'mono', textContent: session.ip || '–' }),
    element('td', { textContent: formatTime(session.created_at) }),
    element('td', { textContent: formatTime(session.last_used_at) }),
    end,
  );
}

function showResult(text, ok) {
  const result = $('call-result');
  result.textContent = text;
  result.hidden = false;
  result.classList.toggle('is-error', !ok);
}

function logRequest(method, path, status, why) {
  const ok = typeof status === 'number' && status < 400;
  const entry = element(
    'li',
    {},
    element('span', { className: 'method', textContent: method }),
    element('span', { className: 'path', textContent: path }),
    element('span', { className: 'why', textContent: why }),
    element('span', { className: `status ${ok ? 'ok' : 'bad'}`, textContent: String(status) }),
  );
  const log = $('request-log');
  log.prepend(entry);
  while (log.children.length > LOG_LENGTH) log.lastElementChild.remove();
}

const BROWSERS = [
  ['Edg', 'Edge'],
  ['Firefox', 'Firefox'],
  ['HeadlessChrome', 'Headless Chrome'],
  ['Chrome', 'Chrome'],
  ['Safari', 'Safari'],
];

/** "Chrome 126 on Linux" from a user agent; anything else by its first word. */
function describeAgent(agent) {
  if (!agent) return 'Unknown device';
  for (const [token, name] of BROWSERS) {
    const match = new RegExp(`${token}/(\\d+)`).exec(agent);
    if (match) {
      const system = /Windows|Mac OS X|Android|iPhone|Linux/.exec(agent)?.[0]?.replace('Mac OS X', 'macOS');
      return system ? `${name} ${match[1]} on ${system}` : `${name} ${match[1]}`;
    }
  }
  return agent.split(/[\s(]/)[0];
}

function formatTime(iso) {
  return new Date(iso).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

function formatDuration(seconds) {
  if (seconds === 0) return 'expired';
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes} min ${seconds % 60} s` : `${seconds} s`;
}

/** A form error in words: the first validation problem, or the server's sentence. */
function describeError(error) {
  const detail = error.details?.[0];
  return detail ? `${detail.path}: ${detail.message}` : error.message;
}

/**
 * Runs a form's action with its buttons disabled; a refused code (or any other answer the form can
 * explain) shows under the form. Only a 401 about the session itself ends it, as in guard().
 */
async function submitting(form, errorLine, action) {
  const buttons = form.querySelectorAll('button');
  buttons.forEach((button) => (button.disabled = true));
  errorLine.hidden = true;
  notify('');
  try {
    await action();
  } catch (error) {
    const sessionOver = error instanceof ApiError && error.status === 401 && error.code !== 'invalid_mfa_code' && auth.accessToken;
    if (sessionOver) {
      signOut('Your session has ended. Please log in again.');
    } else {
      errorLine.textContent = error instanceof ApiError ? describeError(error) : String(error);
      errorLine.hidden = false;
    }
  } finally {
    buttons.forEach((button) => (button.disabled = false));
  }
}

// ---------------------------------------------------------------------------------------------
// Start

function wireEvents() {
  $('auth-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const buttons = form.querySelectorAll('button');
    const formError = $('form-error');
    buttons.forEach((button) => (button.disabled = true));
    formError.hidden = true;
    notify('');
    try {
      await logIn(form.email.value, form.password.value, event.submitter?.value === 'register');
      form.reset();
    } catch (error) {
      formError.textContent = describeError(error);
      formError.hidden = false;
    } finally {
      buttons.forEach((button) => (button.disabled = false));
    }
  });
  $('mfa-login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const code = event.currentTarget.code.value.trim();
    submitting(event.currentTarget, $('mfa-login-error'), async () => {
      try {
        await finishLogIn(code);
      } catch (error) {
        // The mfa_token is void (used, expired, or too many wrong codes): back to the password.
        if (error instanceof ApiError && error.code === 'invalid_grant') {
          auth.mfaToken = null;
          showCodeStep(false);
          notify(error.message, true);
          return;
        }
        throw error;
      }
    });
  });
  $('mfa-login-cancel').addEventListener('click', () => {
    auth.mfaToken = null;
    showCodeStep(false);
  });
  $('mfa-enrol').addEventListener('click', () => guard(enrolTotp()));
  $('mfa-setup-cancel').addEventListener('click', () => renderMfa('off'));
  $('mfa-recovery-done').addEventListener('click', () => renderMfa('on'));
  $('mfa-confirm-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const code = event.currentTarget.code.value.trim();
    submitting(event.currentTarget, $('mfa-confirm-error'), () => confirmTotp(code));
  });
  $('mfa-on').addEventListener('submit', (event) => {
    event.preventDefault();
    const code = event.currentTarget.code.value.trim();
    submitting(event.currentTarget, $('mfa-disable-error'), () => disableTotp(code));
  });
  $('call-profile').addEventListener('click', () => guard(tryRoute('/profile')));
  $('call-admin').addEventListener('click', () => guard(tryRoute('/admin/users')));
  $('refresh-now').addEventListener('click', () => guard(refresh('button')));
  $('reload-sessions').addEventListener('click', () => guard(loadSessions()));
  $('logout').addEventListener('click', () => guard(logOut('local')));
  $('logout-everywhere').addEventListener('click', () => guard(logOut('global')));
  setInterval(renderToken, 1000);
}

async function start() {
  wireEvents();
  try {
    // A reload (or a new tab) has no access token in memory: the HttpOnly cookie, if the browser
    // still holds one, brings the session back without asking for the password.
    await refresh('page load');
    await showSignedIn();
  } catch (error) {
    signOut();
    if (!(error instanceof ApiError && error.status === 401)) notify(error.message, true);
  }
}

start();
