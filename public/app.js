// The demo SPA: how a browser app uses auth-server through its browser client (/auth-client.js), in cookie mode.
//
// What the client does for the page, and why it matters:
// - The access token lives in the client's memory, never in localStorage or sessionStorage, where
//   any script injected into the page could read it. The refresh token never reaches a script:
//   in cookie mode the server keeps it in the HttpOnly cookie `__Host-refresh_token`.
// - client.fetch() sends `Authorization: Bearer <access token>`, refreshes shortly before expiry,
//   and after a 401 "token expired" refreshes and retries once. Cookies never authorise a call.
// - The tabs of this origin share one session: one refresh for all of them, and a login or a
//   logout in one tab is seen at once in the others (the page follows the client's change events).
// - With two-step sign-in on, login() answers "mfa_required" with a verify(code) continuation; the
//   page keeps that function (and the mfa_token inside it) in memory only, and asks for the code.
// - The QR code of a new TOTP secret is drawn here, by the qrcode-generator module this server
//   serves from its own origin: the secret never goes to a QR service on another site.

import qrcode from './qrcode.mjs';
import { AuthError, createAuthClient } from '../auth-client.js';

// The server serves this page, so its URL is where this script came from, one level up (a mount
// prefix included). An SPA hosted elsewhere puts the server's URL here, and the server lists the
// SPA's origin in CORS_ORIGINS.
const client = createAuthClient({ baseUrl: new URL('..', import.meta.url).href, mode: 'cookie' });

const LOG_LENGTH = 12;
/** What asked for each refresh, in the page's words. */
const REFRESH_REASONS = { load: 'page load', expiring: 'before expiry', expired: 'token expired', manual: 'button' };

/** What the page shows; the session itself is the client's. Nothing here is ever written to storage. */
const page = {
  user: null,
  /** The view on screen, or the one being prepared (signed-in while the profile loads). */
  view: null,
  refreshCount: 0,
  lastRefreshReason: '',
  /** The second step of a sign-in waiting for its code (5 minutes, one sign-in); never stored. */
  verifyCode: null,
  /** What to say when this tab's own logout() signs it out. */
  logoutMessage: 'Logged out.',
};

// ---------------------------------------------------------------------------------------------
// Following the session

client.onRequest(({ method, url, status, reason }) => {
  const path = url.startsWith(client.baseUrl) ? url.slice(client.baseUrl.length) : url;
  logRequest(method, path, status === 0 ? 'failed' : status, reason ? REFRESH_REASONS[reason] : '');
});

client.onChange((change) => {
  if (!change.signedIn) {
    signOut(signOutMessage(change));
    return;
  }
  page.user = change.user;
  if (change.cause === 'refresh') {
    page.refreshCount += 1;
    page.lastRefreshReason = REFRESH_REASONS[change.reason] + (change.fromOtherTab ? ', in another tab' : '');
  }
  renderToken();
  // A login here or in another tab (perhaps as someone else), a session restored on load or handed over by another tab.
  if (change.cause === 'login' || page.view !== 'signed-in') guard(showSignedIn());
});

/** Why the tab is signed out, in the page's words. */
function signOutMessage(change) {
  if (change.cause === 'logout') return change.fromOtherTab ? 'Logged out in another tab.' : page.logoutMessage;
  return 'Your session has ended. Please log in again.';
}

/**
 * Calls a protected route through the client (Bearer header, refresh on expiry) and answers its
 * JSON; an error answer is thrown as an AuthError, as the client's own calls are.
 */
async function authorized(method, path, body) {
  const init = { method };
  if (body !== undefined) Object.assign(init, { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  let response;
  try {
    response = await client.fetch(path, init);
  } catch {
    throw new AuthError(0, { error: 'network_error', error_description: 'The server could not be reached.' });
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new AuthError(response.status, data);
  return data;
}

// ---------------------------------------------------------------------------------------------
// What the buttons do

async function logIn(email, password, register) {
  if (register) await client.register({ email, password });
  const result = await client.login({ email, password });
  // The right password of an account with two-step sign-in: no session yet, a code is due.
  if (result.status === 'mfa_required') {
    page.verifyCode = result.verify;
    showCodeStep(true);
  }
  // Signed in: the change event shows the profile.
}

/** The second step of a sign-in: a TOTP or recovery code for the continuation login() gave. */
async function finishLogIn(code) {
  await page.verifyCode(code);
  page.verifyCode = null;
  showCodeStep(false);
}

async function showSignedIn() {
  page.view = 'signed-in';
  showCodeStep(false);
  const { user } = await authorized('GET', '/profile');
  page.user = user;
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
  page.user = { ...page.user, mfa_enabled: true };
  renderProfile(page.user);
  renderMfa('recovery');
}

async function disableTotp(code) {
  await authorized('DELETE', '/mfa/totp', { code });
  page.user = { ...page.user, mfa_enabled: false };
  renderProfile(page.user);
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
    if (!(error instanceof AuthError) || error.status === 401) throw error;
    showResult(`${error.status} ${error.code}\n${error.message}`, false);
  }
}

/** Ends this session ("local") or all of them ("global"); every tab of this origin signs out. */
async function logOut(scope) {
  page.logoutMessage = scope === 'global' ? 'Logged out on every device.' : 'Logged out.';
  await client.logout({ scope });
}

/** Forgets the session on screen: the profile, the codes, the pending second step. */
function signOut(message) {
  page.user = null;
  page.view = 'signed-out';
  page.verifyCode = null;
  $('sessions-body').replaceChildren();
  $('call-result').hidden = true;
  // Recovery codes and a pending secret are not left on screen for the next person.
  $('mfa-recovery-codes').replaceChildren();
  $('mfa-qr').removeAttribute('src');
  $('mfa-secret').textContent = '';
  showCodeStep(false);
  showView('signed-out');
  renderToken();
  notify(message);
}

/**
 * Runs an action started by the page itself and shows what went wrong. A session that is over has
 * already signed the tab out (the client's change event); a 401 of a tab still signed in is said.
 */
async function guard(promise) {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AuthError && error.status === 401 && !client.signedIn) return;
    notify(error.message, true);
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
  $('who').textContent = name === 'signed-in' ? `Signed in as ${page.user.email}` : 'Signed out';
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
  const { expiresAt } = client.state;
  const seconds = Math.max(0, Math.round(((expiresAt ?? 0) - Date.now()) / 1000));
  $('token-expiry').textContent = expiresAt === null ? '–' : formatDuration(seconds);
  $('token-refreshes').textContent = page.refreshCount
    ? `${page.refreshCount} (last: ${page.lastRefreshReason})`
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
 * explain) shows under the form. A session that ended meanwhile has signed the tab out already.
 */
async function submitting(form, errorLine, action) {
  const buttons = form.querySelectorAll('button');
  buttons.forEach((button) => (button.disabled = true));
  errorLine.hidden = true;
  notify('');
  try {
    await action();
  } catch (error) {
    const sessionOver = error instanceof AuthError && error.status === 401 && error.code !== 'invalid_mfa_code' && !client.signedIn && page.view === 'signed-out';
    if (!sessionOver) {
      errorLine.textContent = error instanceof AuthError ? describeError(error) : String(error);
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
        // The sign-in is void (used, expired, or too many wrong codes): back to the password.
        if (error instanceof AuthError && error.code === 'invalid_grant') {
          page.verifyCode = null;
          showCodeStep(false);
          notify(error.message, true);
          return;
        }
        throw error;
      }
    });
  });
  $('mfa-login-cancel').addEventListener('click', () => {
    page.verifyCode = null;
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
  $('refresh-now').addEventListener('click', () => guard(client.refresh()));
  $('reload-sessions').addEventListener('click', () => guard(loadSessions()));
  $('logout').addEventListener('click', () => guard(logOut('local')));
  $('logout-everywhere').addEventListener('click', () => guard(logOut('global')));
  setInterval(renderToken, 1000);
}

async function start() {
  wireEvents();
  let failure = '';
  try {
    // A reload (or a new tab) has no access token in memory: another tab of this origin hands its
    // session over, or the HttpOnly cookie, if the browser still holds one, brings it back.
    await client.ready;
  } catch (error) {
    failure = error.message;
  }
  // Signed in, the change event has shown the profile (or is loading it); otherwise nothing came.
  if (page.view === null) signOut('');
  if (failure) notify(failure, true);
}

start();
