// @ts-check
// auth-server's browser client: sign-in, Bearer calls that refresh themselves; in cookie mode one
// session shared by every tab of an origin, in memory mode one session per tab.
//
// What crosses between tabs, and why (the channel is a BroadcastChannel: every same-origin
// document can listen on it and post to it, not only this client's tabs, so nothing it carries
// may be a capability the listener lacks, and nothing it says is trusted beyond its shape):
// - Cookie mode shares one session. Every change of it (login, refresh, logout) runs under one
//   Web Lock per server, so two tabs never refresh at once: the cookie jar is shared, and two
//   tabs presenting the same cookie would be a replay to the server (reuse detection ends the
//   session; only its short grace window forgives it). The tab that changed the session posts the
//   result, and the others take it as theirs: one network call refreshes every tab, and a logout
//   in one tab signs out all.
//   A message and a lock grant can arrive in either order, so the tab granted the lock first asks
//   the live tabs (each holds a lock named after itself, which the browser drops when it closes)
//   what they hold, and skips the call when one of them already has a newer session. Every state
//   carries a sequence number that grows with each change, so "newer" needs no clock.
//   Those states carry the access token (never the refresh token, which no script of the page
//   ever sees in this mode). That gives a same-origin listener nothing new: any script of the
//   origin can call POST /refresh itself, and the browser attaches the HttpOnly cookie to it; the
//   token it hears lives 15 minutes and is bound to the session that cookie already opens. Sending
//   only "refreshed, seq N" instead would cost one call per tab, where the point is one for all.
// - Memory mode posts no token, ever. A refresh token in memory is a capability no other
//   document of the origin has; handed over the channel, one script on any page of the origin
//   (an XSS in a forum page, say) could take it by asking, and use it outside the browser for
//   its whole lifetime. No way for a new tab to join a memory-mode session is safe from such a
//   script, so each tab has its own: its own login, its own refresh under its own lock (no
//   replay, the sessions differ), and a reload or a new tab starts signed out. The only message
//   is "logged out": each tab that hears it ends its own session (POST /logout with its own
//   token) and shows signed out. A script that forges it can sign the tabs out, no more.
// - Every message is checked for its shape (known type, string ids, a sequence number that is a
//   safe non-negative integer, known causes); anything else is dropped. The channel's name holds
//   a protocol version, so a tab running an older client never hears a newer one.
// - Without Web Locks (plain http on a non-local address) each tab serialises its own calls only;
//   the server's grace window then covers two cookie-mode tabs refreshing at once.

/**
 * A user as the server describes it.
 * @typedef {{ id: string, email: string, role: 'user' | 'admin', created_at: string, email_verified: boolean, mfa_enabled: boolean }} User
 */

/**
 * Where the refresh token lives: `cookie`, the HttpOnly `__Host-refresh_token` cookie the server
 * sets (no script can read it; a reload restores the session; every tab of the origin shares the
 * session); `memory`, a variable of this client, one session per tab (its own login; gone with
 * the tab, and never handed to another).
 * @typedef {'cookie' | 'memory'} TokenMode
 */

/**
 * @typedef {object} AuthClientOptions
 * @property {string} baseUrl The server's URL, e.g. `https://auth.example.com` (a path prefix is kept).
 * @property {TokenMode} mode
 * @property {string[]} [apiOrigins] Other origins whose APIs accept these access tokens: `fetch` sends the token there too. The server's own origin always gets it.
 * @property {number} [refreshLeadSeconds] Refresh this long before the access token expires (default 60; at most a fifth of its lifetime).
 * @property {typeof fetch} [fetch] The fetch to use (default: the global one, looked up at each call).
 */

/**
 * What a tab knows of its session; the tokens are not part of it.
 * @typedef {object} AuthState
 * @property {boolean} signedIn
 * @property {User | null} user
 * @property {number | null} expiresAt When the access token expires, in ms of this browser's clock.
 */

/**
 * Why the session changed: `login` (a sign-in finished), `refresh` (new tokens, same session),
 * `logout` (logout() here or in another tab), `ended` (the server refused the session: its refresh
 * token or access token was revoked or expired), `restore` (cookie mode: a new tab took the
 * session another tab holds).
 * @typedef {'login' | 'refresh' | 'logout' | 'ended' | 'restore'} ChangeCause
 */

/**
 * What asked for a refresh: `load` (a new page, through the cookie), `expiring` (shortly before
 * expiry), `expired` (a call answered 401 "token expired"), `manual` (refresh() was called).
 * @typedef {'load' | 'expiring' | 'expired' | 'manual'} RefreshReason
 */

/**
 * The detail of a `change` event.
 * @typedef {AuthState & { cause: ChangeCause, reason: RefreshReason | null, fromOtherTab: boolean }} ChangeDetail
 */

/**
 * The detail of a `request` event: one call this client made, for logs and developer tools.
 * @typedef {object} RequestDetail
 * @property {string} method
 * @property {string} url
 * @property {number} status The answer's status, 0 when there was none.
 * @property {RefreshReason | null} reason Why, for a refresh.
 */

/**
 * The result of login(): signed in, or the password was right and a second factor is due. Call
 * `verify` with the authenticator's code or a recovery code (it may be called again after a wrong
 * code; it rejects with `invalid_grant` once the sign-in is void: 5 wrong codes or 5 minutes).
 * @typedef {{ status: 'signed_in', user: User } | { status: 'mfa_required', expiresIn: number, verify: (code: string) => Promise<{ status: 'signed_in', user: User }> }} LoginResult
 */

/**
 * What one tab holds. `refreshToken` only in memory mode, and it never leaves the tab.
 * @typedef {{ accessToken: string, expiresAt: number, lifetime: number, user: User, refreshToken?: string }} Session
 */

/**
 * What cookie-mode tabs hand to each other: a Session without a refresh token.
 * @typedef {{ accessToken: string, expiresAt: number, lifetime: number, user: User }} SharedSession
 */

/**
 * A message on the channel. Cookie mode: a new state, a question to every live tab, or an answer
 * to one. Memory mode: `logout` only, which carries no token.
 * @typedef {{ type: 'state', from: string, seq: number, session: SharedSession | null, cause: ChangeCause, reason: RefreshReason | null }
 *   | { type: 'ask', from: string, id: string, seq: number }
 *   | { type: 'reply', from: string, to: string, id: string, seq: number, session?: SharedSession | null, cause: ChangeCause, reason: RefreshReason | null }
 *   | { type: 'logout', from: string }} Message
 */

/** Part of the channel's name: bump it whenever a message changes, so that clients of two versions never hear each other. */
const PROTOCOL = 'v2';
/** Sequence numbers stay far below 2^53, so that one more is still exact (a larger one is refused as malformed). */
const MAX_SEQ = 2 ** 48;
/** @type {readonly ChangeCause[]} */
const CAUSES = ['login', 'refresh', 'logout', 'ended', 'restore'];
/** @type {readonly RefreshReason[]} */
const REASONS = ['load', 'expiring', 'expired', 'manual'];

const DEFAULT_LEAD_SECONDS = 60;
/** How long a tab waits for the others' answers; one that does not answer (frozen, crashed) only slows this. */
const PEER_ANSWER_MS = 1000;
/** After a refresh that failed for a reason other than the session (network, 5xx, 429), try again this much later. */
const RETRY_MS = 10_000;
/** A session call that hangs would hold the lock of every tab: give up after this long. */
const CALL_TIMEOUT_MS = 30_000;
/** setTimeout's longest delay; a longer one fires at once. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * An error body of the contract: `error`, `error_description`, and for some codes more (`details`
 * of a 400, `mfa_token` and `expires_in` of mfa_required).
 * @typedef {{ error?: string, error_description?: string, details?: { path: string, message: string }[], [field: string]: unknown }} ErrorBody
 */

/** An answer of the server that is an error, in the contract's shape; or no answer (status 0). */
export class AuthError extends Error {
  /**
   * @param {number} status The HTTP status, or 0 when the server could not be reached or the client refused locally.
   * @param {ErrorBody | null} body
   * @param {ErrorOptions} [options]
   */
  constructor(status, body, options) {
    super(body?.error_description ?? `The server answered ${status}.`, options);
    this.name = 'AuthError';
    this.status = status;
    /** The contract's error code (`invalid_credentials`, `invalid_mfa_code`…), or `network_error`, `signed_out`. */
    this.code = body?.error ?? 'unknown';
    /** Which fields a 400 found wrong. */
    this.details = body?.details ?? [];
    /** The whole error body. */
    this.body = body ?? {};
  }
}

/**
 * The client. Events: `change` (a CustomEvent whose detail is a ChangeDetail: signed in or out,
 * new tokens, here or in another tab) and `request` (detail RequestDetail).
 */
export class AuthClient extends EventTarget {
  /** @type {TokenMode} */
  mode;
  /** The server's URL, without a trailing slash. */
  baseUrl;
  /**
   * Settles once the tab knows whether it is signed in: in cookie mode taken from another tab or
   * restored through the cookie; in memory mode at once, signed out. Rejects with an AuthError
   * when the server could not be asked (the tab then stays signed out); fetch() and the other
   * methods wait for it either way.
   * @type {Promise<AuthState>}
   */
  ready;

  /** @type {Session | null} */
  #session = null;
  /** The sequence number of the state this tab holds, and the highest one it has heard of. */
  #seq = 0;
  #known = 0;
  /** Grows at each sign-in and sign-out of this tab (not at a refresh): which session a "logged out" from another tab meant. */
  #generation = 0;
  /** @type {ChangeCause} */
  #lastCause = 'restore';
  /** @type {RefreshReason | null} */
  #lastReason = null;
  /** @type {Promise<AuthState> | null} The refresh this tab is waiting for, which every caller in it shares. */
  #refreshing = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer;
  #id = randomId();
  /** The channel's name, and the prefix of the locks that list the live tabs: per server, mode and protocol version. */
  #name;
  /** The session lock's name: per server and mode, whatever the version, so that an old and a new client never refresh at once. */
  #lockName;
  /** @type {Set<string>} */
  #origins;
  /** The server's own origin: 401s from there tell whether the session has ended. */
  #ownOrigin;
  #leadSeconds;
  /** @type {(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>} */
  #fetch;
  /** @type {BroadcastChannel | null} */
  #channel = null;
  /** @type {Map<string, (from: string) => void>} */
  #asks = new Map();
  /** @type {(() => void) | null} */
  #leave = null;
  /** Serialises this tab's session calls when the browser has no Web Locks. */
  #queue = Promise.resolve();
  #closed = false;
  #onVisible = () => {
    if (document.visibilityState === 'visible' && this.#expiring()) this.#refresh('expiring').catch(() => undefined);
  };

  /** @param {AuthClientOptions} options */
  constructor(options) {
    super();
    const { baseUrl, mode } = options ?? {};
    if (mode !== 'cookie' && mode !== 'memory') throw new TypeError('createAuthClient: mode must be "cookie" or "memory"');
    if (typeof baseUrl !== 'string') throw new TypeError('createAuthClient: baseUrl must be the server URL');
    const base = new URL(baseUrl, globalThis.location?.href);
    const { apiOrigins = [], refreshLeadSeconds = DEFAULT_LEAD_SECONDS, fetch: fetchOption } = options;
    if (!Array.isArray(apiOrigins) || !apiOrigins.every((origin) => isAbsoluteUrl(origin))) {
      throw new TypeError('createAuthClient: apiOrigins must be an array of absolute URLs');
    }
    // NaN or a string would make every refresh plan the next one at once: a loop of POST /refresh.
    if (typeof refreshLeadSeconds !== 'number' || !Number.isFinite(refreshLeadSeconds) || refreshLeadSeconds < 0) {
      throw new TypeError('createAuthClient: refreshLeadSeconds must be a finite number of seconds, 0 or more');
    }
    if (fetchOption !== undefined && typeof fetchOption !== 'function') throw new TypeError('createAuthClient: fetch must be a function');
    this.mode = mode;
    this.baseUrl = base.href.replace(/\/+$/, '');
    this.#ownOrigin = base.origin;
    this.#origins = new Set([base.origin, ...apiOrigins.map((origin) => new URL(origin).origin)]);
    this.#leadSeconds = refreshLeadSeconds;
    this.#fetch = fetchOption ?? ((input, init) => globalThis.fetch(input, init));
    // One name per server and mode: two clients of one server share a session only when they keep it the same way.
    this.#lockName = `auth-client:${mode}:${this.baseUrl}`;
    this.#name = `auth-client:${PROTOCOL}:${mode}:${this.baseUrl}`;
    if (typeof BroadcastChannel === 'function') {
      this.#channel = new BroadcastChannel(this.#name);
      this.#channel.onmessage = (event) => this.#hear(event.data);
    }
    if (typeof document !== 'undefined') document.addEventListener('visibilitychange', this.#onVisible);
    this.ready = this.#start();
    // Awaiting `ready` still sees its rejection; an app that never does is spared an unhandled one.
    this.ready.catch(() => undefined);
  }

  /** @returns {AuthState} */
  get state() {
    const session = this.#session;
    return { signedIn: session !== null, user: session?.user ?? null, expiresAt: session?.expiresAt ?? null };
  }

  get signedIn() {
    return this.#session !== null;
  }

  /** @returns {User | null} */
  get user() {
    return this.#session?.user ?? null;
  }

  /**
   * Creates an account (201); it does not sign in: call login() next.
   * @param {{ email: string, password: string }} credentials
   * @returns {Promise<User>}
   */
  async register({ email, password }) {
    const { user } = await this.#call('POST', '/register', { body: { email, password } });
    return user;
  }

  /**
   * Signs in: in every tab of this origin in cookie mode, in this tab only in memory mode.
   * Rejects with an AuthError (`invalid_credentials`, `rate_limited`, `email_not_verified`,
   * `account_disabled`…); resolves `mfa_required` with a `verify(code)` continuation when the
   * account has a second factor.
   * @param {{ email: string, password: string }} credentials
   * @returns {Promise<LoginResult>}
   */
  async login({ email, password }) {
    await this.#settled();
    return this.#exclusive(async () => {
      let tokens;
      try {
        tokens = await this.#call('POST', '/login', { body: { email, password }, session: true });
      } catch (error) {
        if (!(error instanceof AuthError && error.code === 'mfa_required')) throw error;
        // The mfa_token stays in this closure: never stored, never posted to other tabs.
        const mfaToken = String(error.body.mfa_token);
        return { status: 'mfa_required', expiresIn: Number(error.body.expires_in), verify: (code) => this.#secondStep(mfaToken, code) };
      }
      this.#commit(this.#sessionFrom(tokens), 'login', null);
      return { status: 'signed_in', user: tokens.user };
    });
  }

  /**
   * Swaps the refresh token for new tokens now: once for every tab in cookie mode, for this tab's
   * own session in memory mode. Rejects with an AuthError:
   * `invalid_grant` when the session is over (the tab is then signed out), `signed_out` in memory
   * mode without a session, `network_error`, or the server's code.
   * @returns {Promise<AuthState>}
   */
  refresh() {
    return this.#refresh('manual');
  }

  /**
   * Ends the session at the server and signs out every tab (in memory mode each other tab ends its
   * own session the same way). `scope: "others"` ends the user's other sessions and keeps this one
   * (in memory mode, the other tabs' sessions too: they learn it at their next call); `"global"`
   * ends all of them. Resolves once the session is over (or was already); if the server could not
   * be reached it rejects and the tab stays signed in, so that the app can say so rather than show
   * a sign-out that did not happen.
   * @param {{ scope?: 'local' | 'others' | 'global' }} [options]
   * @returns {Promise<void>}
   */
  async logout({ scope = 'local' } = {}) {
    await this.#settled();
    await this.#exclusive(async () => {
      await this.#askOtherTabs();
      const session = this.#session;
      if (this.mode === 'memory') {
        if (session !== null) await this.#endAtServer(session, scope);
        if (scope === 'others') return;
        this.#commit(null, 'logout', null);
        // Signed in or not here, the other tabs end their own sessions; the message names none.
        this.#post({ type: 'logout', from: this.#id });
        return;
      }
      // Signed out, and the origin knows it (another tab logged out first): nothing left to end.
      if (session === null && this.#seq > 0) return;
      await this.#endAtServer(session, scope);
      if (scope !== 'others') this.#commit(null, 'logout', null);
    });
  }

  /**
   * fetch() with `Authorization: Bearer <access token>` on the server's origin and `apiOrigins`
   * (never elsewhere, and not when the request sets its own Authorization). A path starting with
   * "/" is a path of the server (joined to baseUrl). The token is refreshed first when it is about
   * to expire; a 401 "token expired" is refreshed and retried once, and only once; a 401 "token
   * revoked" or "token invalid" from the server signs this session out (every tab, in cookie
   * mode). Signed out, the request goes without a token. Resolves with the last Response, like fetch.
   * @param {RequestInfo | URL} input
   * @param {RequestInit} [init]
   * @returns {Promise<Response>}
   */
  async fetch(input, init) {
    await this.#settled();
    const target = typeof input === 'string' && input.startsWith('/') && !input.startsWith('//') ? this.baseUrl + input : input;
    // Built once and cloned for each attempt, so that a body can be sent again on the retry.
    const base = new Request(target, init);
    const url = new URL(base.url);
    if (!this.#origins.has(url.origin) || base.headers.has('Authorization')) return this.#send(base.clone(), null);

    const token = await this.#currentToken();
    const first = await this.#send(base.clone(), token);
    if (first.status !== 401 || token === null) return first;
    const problem = await challenge(first);
    if (problem === 'token expired') {
      try {
        await this.#refresh('expired', token);
      } catch {
        return first;
      }
      const fresh = this.#session?.accessToken ?? null;
      if (fresh === null || fresh === token) return first;
      const second = await this.#send(base.clone(), fresh);
      if (second.status === 401 && url.origin === this.#ownOrigin) await this.#endIfRevoked(second, fresh);
      return second;
    }
    if (url.origin === this.#ownOrigin) await this.#endIfRevoked(first, token, problem);
    return first;
  }

  /**
   * The current access token, refreshed first when it is about to expire; null when signed out.
   * For what fetch() cannot do (a WebSocket's first message, say); prefer fetch().
   * @returns {Promise<string | null>}
   */
  async getAccessToken() {
    await this.#settled();
    return this.#currentToken();
  }

  /**
   * Calls `listener` at every change of the session; returns what stops it.
   * @param {(detail: ChangeDetail) => void} listener
   * @returns {() => void}
   */
  onChange(listener) {
    return this.#listen('change', listener);
  }

  /**
   * Calls `listener` after every call this client made; returns what stops it.
   * @param {(detail: RequestDetail) => void} listener
   * @returns {() => void}
   */
  onRequest(listener) {
    return this.#listen('request', listener);
  }

  /** Stops the timer, leaves the other tabs; in cookie mode the session stays theirs (this is no logout). */
  close() {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#channel?.close();
    this.#channel = null;
    this.#leave?.();
    if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', this.#onVisible);
  }

  // -------------------------------------------------------------------------------------------
  // The session's life

  /** @returns {Promise<AuthState>} */
  async #start() {
    // Memory mode: a session is this tab's alone, and none outlives it: a new tab starts signed out.
    if (this.mode === 'memory') return this.state;
    this.#join();
    return this.#exclusive(async () => {
      await this.#askOtherTabs();
      // Another tab handed its session over.
      if (this.#session !== null) return this.state;
      try {
        await this.#refreshOverNetwork('load');
      } catch (error) {
        if (!(error instanceof AuthError && error.status === 401)) throw error;
      }
      return this.state;
    });
  }

  /**
   * One refresh at a time in this tab (callers share it), and one per rotation across tabs.
   * `stale`: the access token a call found expired; when the tab already holds another one, that
   * newer one is the answer and nothing is sent.
   * @param {RefreshReason} reason
   * @param {string} [stale]
   * @returns {Promise<AuthState>}
   */
  #refresh(reason, stale) {
    if (stale !== undefined && this.#session?.accessToken !== stale) return Promise.resolve(this.state);
    if (this.#refreshing) return this.#refreshing;
    const seenSeq = this.#seq;
    const refreshing = this.#settled()
      .then(() =>
        this.#exclusive(async () => {
          // While this tab waited for the lock, another tab refreshed or logged out: take its state.
          if (this.#seq !== seenSeq) return this.#outcome();
          await this.#askOtherTabs();
          if (this.#seq !== seenSeq) return this.#outcome();
          if (this.mode === 'memory' && this.#session === null) {
            throw new AuthError(0, { error: 'signed_out', error_description: 'There is no session to refresh.' });
          }
          await this.#refreshOverNetwork(reason);
          return this.#outcome();
        }),
      )
      .finally(() => {
        if (this.#refreshing === refreshing) this.#refreshing = null;
      });
    this.#refreshing = refreshing;
    return refreshing;
  }

  /** A refresh's result: the state, or the error of a session that is over. */
  #outcome() {
    if (this.#session) return this.state;
    throw new AuthError(401, { error: 'invalid_grant', error_description: 'The session has ended.' });
  }

  /**
   * POST /refresh. Called under the lock only. A 401 ends the session (in every tab, in cookie
   * mode); any other failure leaves it as it is and is thrown.
   * @param {RefreshReason} reason
   */
  async #refreshOverNetwork(reason) {
    const body = this.mode === 'memory' ? { refresh_token: this.#session?.refreshToken } : undefined;
    try {
      const tokens = await this.#call('POST', '/refresh', { body, session: true, reason });
      this.#commit(this.#sessionFrom(tokens), 'refresh', reason);
    } catch (error) {
      // 401: the session is over (or, on a page load, there was none): every tab learns it.
      if (error instanceof AuthError && error.status === 401) this.#commit(null, 'ended', reason);
      throw error;
    }
  }

  /**
   * POST /logout for this tab's session. The refresh token names it: in the body in memory mode,
   * as the cookie otherwise. A 401 means it had ended already; any other failure is thrown.
   * @param {Session | null} session
   * @param {'local' | 'others' | 'global'} scope
   */
  async #endAtServer(session, scope) {
    /** @type {{ refresh_token?: string, scope?: string }} */
    const body = {};
    if (this.mode === 'memory') body.refresh_token = session?.refreshToken;
    if (scope !== 'local') body.scope = scope;
    try {
      await this.#call('POST', '/logout', { body: Object.keys(body).length > 0 ? body : undefined, session: true });
    } catch (error) {
      // 401: the session had ended already (its refresh token is revoked, or the cookie is gone).
      if (!(error instanceof AuthError && error.status === 401)) throw error;
    }
  }

  /**
   * Memory mode: another tab logged out, so this one ends its own session: the one it holds now,
   * not one signed in to after the message (the generation tells them apart; a refresh keeps it).
   * Signed out here whatever the server answers: the tokens are dropped, so nothing can use the
   * session any more, and the server forgets it when it expires.
   */
  #endFromOtherTab() {
    const generation = this.#generation;
    this.#exclusive(async () => {
      const session = this.#session;
      if (session === null || this.#generation !== generation) return;
      await this.#endAtServer(session, 'local').catch(() => undefined);
      this.#known += 1;
      this.#seq = this.#known;
      this.#apply(null, 'logout', null, true);
    }).catch(() => undefined);
  }

  /**
   * The second step of a sign-in: POST /login/mfa with the mfa_token of /login's answer.
   * @param {string} mfaToken
   * @param {string} code
   * @returns {Promise<{ status: 'signed_in', user: User }>}
   */
  #secondStep(mfaToken, code) {
    return this.#exclusive(async () => {
      const tokens = await this.#call('POST', '/login/mfa', { body: { mfa_token: mfaToken, code }, session: true });
      this.#commit(this.#sessionFrom(tokens), 'login', null);
      return { status: 'signed_in', user: tokens.user };
    });
  }

  /**
   * After a 401 from the server: "token revoked" or "token invalid" means the session is over
   * (a logout elsewhere, an admin, a password reset), unless the tab has moved on to other tokens.
   * @param {Response} response
   * @param {string} token The access token that was refused.
   * @param {string | null} [problem] The answer's error_description, when already read.
   */
  async #endIfRevoked(response, token, problem) {
    const description = problem === undefined ? await challenge(response) : problem;
    if (description !== 'token revoked' && description !== 'token invalid') return;
    await this.#exclusive(async () => {
      if (this.#session?.accessToken === token) this.#commit(null, 'ended', null);
    });
  }

  /** @returns {Promise<string | null>} */
  async #currentToken() {
    if (this.#expiring()) await this.#refresh('expiring').catch(() => undefined);
    return this.#session?.accessToken ?? null;
  }

  /** Whether the access token is within its refresh lead of expiry (or past it). */
  #expiring() {
    const session = this.#session;
    return session !== null && Date.now() >= session.expiresAt - this.#leadMs(session);
  }

  /** @param {Session} session */
  #leadMs(session) {
    // A fifth of the lifetime at most, so that a short ACCESS_TOKEN_TTL cannot make tabs refresh in a loop.
    return Math.min(this.#leadSeconds, session.lifetime / 5) * 1000;
  }

  /**
   * A TokenResponse as a session. expires_in, not expires_at: counted from this browser's clock,
   * a clock that is minutes off still refreshes on time.
   * @param {any} tokens
   * @returns {Session}
   */
  #sessionFrom(tokens) {
    /** @type {Session} */
    const session = {
      accessToken: tokens.access_token,
      expiresAt: Date.now() + tokens.expires_in * 1000,
      lifetime: tokens.expires_in,
      user: tokens.user,
    };
    if (this.mode === 'memory') session.refreshToken = tokens.refresh_token;
    return session;
  }

  /**
   * Takes a new state as this tab's (under the lock only) and tells the other tabs.
   * @param {Session | null} session
   * @param {ChangeCause} cause
   * @param {RefreshReason | null} reason
   */
  #commit(session, cause, reason) {
    this.#known += 1;
    this.#seq = this.#known;
    this.#apply(session, cause, reason, false);
    // Memory mode tells the other tabs nothing here: each holds its own session (logout() posts its one message).
    if (this.mode === 'cookie') this.#post({ type: 'state', from: this.#id, seq: this.#seq, session: shared(session), cause, reason });
  }

  /**
   * @param {Session | null} session
   * @param {ChangeCause} cause
   * @param {RefreshReason | null} reason
   * @param {boolean} fromOtherTab
   */
  #apply(session, cause, reason, fromOtherTab) {
    const before = this.#session;
    if (session === null || cause === 'login' || cause === 'restore') this.#generation += 1;
    this.#session = session;
    this.#lastCause = cause;
    this.#lastReason = reason;
    this.#schedule();
    if (before === null && session === null) return;
    /** @type {ChangeDetail} */
    const detail = { ...this.state, cause, reason, fromOtherTab };
    this.dispatchEvent(new CustomEvent('change', { detail }));
  }

  /** Plans the refresh shortly before expiry; every tab plans one, and the lock makes them one call. */
  #schedule() {
    clearTimeout(this.#timer);
    const session = this.#session;
    if (session === null || this.#closed) return;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, session.expiresAt - this.#leadMs(session) - Date.now()));
    this.#timer = setTimeout(() => {
      this.#refresh('expiring').catch(() => {
        // The server could not be asked: try again later, while this session is still the tab's.
        if (this.#session === session) this.#timer = setTimeout(() => this.#schedule(), RETRY_MS);
      });
    }, delay);
  }

  // -------------------------------------------------------------------------------------------
  // The other tabs

  /** Holds a lock named after this client until it closes: the list of held locks is the list of live tabs. */
  #join() {
    const locks = lockManager();
    if (!locks) return;
    locks
      .request(`${this.#name}:tab:${this.#id}`, () => new Promise((resolve) => (this.#leave = () => resolve(undefined))))
      // Refused (an opaque origin): the tab is just not counted, and its session calls say why.
      .catch(() => undefined);
  }

  /**
   * Runs `task` with the session lock: in cookie mode the lock of this server, held across tabs
   * (in this tab only, without Web Locks); in memory mode this tab's own, its session being its own.
   * @template T
   * @param {() => Promise<T>} task
   * @returns {Promise<T>}
   */
  #exclusive(task) {
    const locks = this.mode === 'cookie' ? lockManager() : null;
    // request() resolves with what the callback's promise resolves with, whatever its typings say.
    if (locks) return /** @type {Promise<T>} */ (/** @type {unknown} */ (locks.request(this.#lockName, task)));
    const result = this.#queue.then(task);
    this.#queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /**
   * Asks every live tab for its state and waits for their answers (or PEER_ANSWER_MS): a newer
   * one is taken as this tab's on arrival. Called under the lock, before a session call. Cookie
   * mode only: memory-mode tabs have nothing to hand each other.
   */
  async #askOtherTabs() {
    const locks = lockManager();
    if (this.mode === 'memory' || !locks || !this.#channel) return;
    const prefix = `${this.#name}:tab:`;
    const { held = [] } = await locks.query();
    const waiting = new Set(
      held.map((lock) => lock.name ?? '').filter((name) => name.startsWith(prefix) && name !== prefix + this.#id).map((name) => name.slice(prefix.length)),
    );
    if (waiting.size === 0) return;
    const id = randomId();
    await new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#asks.delete(id);
        resolve(undefined);
      };
      const timer = setTimeout(done, PEER_ANSWER_MS);
      this.#asks.set(id, (from) => {
        waiting.delete(from);
        if (waiting.size === 0) done();
      });
      this.#post({ type: 'ask', from: this.#id, id, seq: this.#seq });
    });
  }

  /** @param {Message} message */
  #post(message) {
    this.#channel?.postMessage(message);
  }

  /**
   * A message from another tab of this origin, or from any script of it: checked for its shape
   * first, and dropped unless it is one of this protocol's.
   * @param {unknown} data
   */
  #hear(data) {
    const message = readMessage(data, this.mode);
    if (message === null || message.from === this.#id || this.#closed) return;
    if (message.type === 'logout') {
      this.#endFromOtherTab();
      return;
    }
    this.#known = Math.max(this.#known, message.seq);
    if (message.type === 'ask') {
      // Cookie mode only (memory mode hears nothing but logout). The session goes only to a tab
      // that holds an older state than this one: an access token, which any script of the origin
      // could get through the cookie anyway (see the top of this file).
      const newer = this.#seq > message.seq;
      this.#post({
        type: 'reply',
        from: this.#id,
        to: message.from,
        id: message.id,
        seq: this.#seq,
        ...(newer ? { session: shared(this.#session) } : {}),
        cause: this.#lastCause,
        reason: this.#lastReason,
      });
      return;
    }
    if (message.type === 'reply' && message.to !== this.#id) return;
    if (message.seq > this.#seq && message.session !== undefined) {
      this.#seq = message.seq;
      // A tab that had nothing and is handed a live session restores it; otherwise the cause is the other tab's.
      const cause = message.type === 'reply' && this.#session === null && message.session !== null ? 'restore' : message.cause;
      this.#apply(message.session, cause, message.reason, true);
    }
    if (message.type === 'reply') this.#asks.get(message.id)?.(message.from);
  }

  // -------------------------------------------------------------------------------------------
  // Talking to the server

  /**
   * One call to the server's API, in JSON. `session`: a call that sets or reads the refresh token
   * (in cookie mode it carries X-Token-Mode, the CSRF defence, and the cookie).
   * @param {string} method
   * @param {string} path
   * @param {{ body?: unknown, session?: boolean, reason?: RefreshReason }} [options]
   * @returns {Promise<any>}
   */
  async #call(method, path, { body, session = false, reason } = {}) {
    /** @type {Record<string, string>} */
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const cookie = session && this.mode === 'cookie';
    if (cookie) headers['X-Token-Mode'] = 'cookie';
    const url = this.baseUrl + path;
    let response;
    try {
      response = await this.#fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        // The cookie must travel (and be stored) even when the server is on another origin; memory mode has no use for it.
        credentials: cookie ? 'include' : 'omit',
        cache: 'no-store',
        signal: typeof AbortSignal.timeout === 'function' ? AbortSignal.timeout(CALL_TIMEOUT_MS) : null,
      });
    } catch (error) {
      this.#tell(method, url, 0, reason ?? null);
      throw new AuthError(0, { error: 'network_error', error_description: 'The server could not be reached.' }, { cause: error });
    }
    this.#tell(method, url, response.status, reason ?? null);
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw new AuthError(response.status, data);
    return data;
  }

  /**
   * @param {Request} request
   * @param {string | null} token
   */
  async #send(request, token) {
    if (token !== null) request.headers.set('Authorization', `Bearer ${token}`);
    let response;
    try {
      response = await this.#fetch(request);
    } catch (error) {
      this.#tell(request.method, request.url, 0, null);
      throw error;
    }
    this.#tell(request.method, request.url, response.status, null);
    return response;
  }

  /**
   * @param {string} method
   * @param {string} url
   * @param {number} status
   * @param {RefreshReason | null} reason
   */
  #tell(method, url, status, reason) {
    /** @type {RequestDetail} */
    const detail = { method, url, status, reason };
    this.dispatchEvent(new CustomEvent('request', { detail }));
  }

  /** Waits for the start (taken from a tab, restored, or failed): every method acts on a known state. */
  async #settled() {
    await this.ready?.catch(() => undefined);
  }

  /**
   * @param {string} type
   * @param {(detail: any) => void} listener
   */
  #listen(type, listener) {
    /** @param {Event} event */
    const handler = (event) => listener(/** @type {CustomEvent} */ (event).detail);
    this.addEventListener(type, handler);
    return () => this.removeEventListener(type, handler);
  }
}

/**
 * A client for one auth-server. Create one per page (or per worker) and share it.
 * @param {AuthClientOptions} options
 * @returns {AuthClient}
 */
export function createAuthClient(options) {
  return new AuthClient(options);
}

/**
 * The error_description of a 401: from WWW-Authenticate (RFC 6750), else from the JSON body
 * (a server on another origin may not expose the header).
 * @param {Response} response
 * @returns {Promise<string | null>}
 */
async function challenge(response) {
  const header = response.headers.get('WWW-Authenticate');
  const quoted = header && /error_description="([^"]*)"/.exec(header);
  if (quoted) return quoted[1] ?? null;
  const body = await response
    .clone()
    .json()
    .catch(() => null);
  return typeof body?.error_description === 'string' ? body.error_description : null;
}

/**
 * What a cookie-mode tab posts of its session: never a refresh token (it holds none; this makes sure).
 * @param {Session | null} session
 * @returns {SharedSession | null}
 */
function shared(session) {
  if (session === null) return null;
  const { accessToken, expiresAt, lifetime, user } = session;
  return { accessToken, expiresAt, lifetime, user };
}

/**
 * A channel message as this client knows it, rebuilt from its checked fields only; null for
 * anything else (another version's, a broken or a hostile script's), which is dropped.
 * @param {unknown} data
 * @param {TokenMode} mode
 * @returns {Message | null}
 */
function readMessage(data, mode) {
  if (!isRecord(data) || !isId(data.from)) return null;
  const { type, from, seq } = data;
  if (mode === 'memory') return type === 'logout' ? { type, from } : null;
  if (!isSeq(seq)) return null;
  if (type === 'ask') return isId(data.id) ? { type, from, id: data.id, seq } : null;
  if (type !== 'state' && type !== 'reply') return null;
  const { cause, reason } = data;
  if (!oneOf(CAUSES, cause) || !(reason === null || oneOf(REASONS, reason))) return null;
  if (type === 'state') {
    const session = readSession(data.session);
    return session === false ? null : { type, from, seq, session, cause, reason };
  }
  if (!isId(data.to) || !isId(data.id)) return null;
  // A reply without a session: the other tab holds nothing newer.
  if (data.session === undefined) return { type, from, to: data.to, id: data.id, seq, cause, reason };
  const session = readSession(data.session);
  return session === false ? null : { type, from, to: data.to, id: data.id, seq, session, cause, reason };
}

/**
 * @param {unknown} value
 * @returns {SharedSession | null | false} false when malformed
 */
function readSession(value) {
  if (value === null) return null;
  if (!isRecord(value)) return false;
  const { accessToken, expiresAt, lifetime, user } = value;
  if (typeof accessToken !== 'string' || accessToken === '') return false;
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) return false;
  if (typeof lifetime !== 'number' || !Number.isFinite(lifetime) || lifetime <= 0) return false;
  if (!isRecord(user) || typeof user.id !== 'string' || typeof user.email !== 'string') return false;
  return { accessToken, expiresAt, lifetime, user: /** @type {User} */ (/** @type {unknown} */ (user)) };
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
function isRecord(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * @param {unknown} value
 * @returns {value is string}
 */
function isId(value) {
  return typeof value === 'string' && value.length > 0 && value.length <= 100;
}

/**
 * A sequence number: a safe non-negative integer (not NaN, not Infinity, not 1.5, not "3").
 * @param {unknown} value
 * @returns {value is number}
 */
function isSeq(value) {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_SEQ;
}

/**
 * @template {string} T
 * @param {readonly T[]} list
 * @param {unknown} value
 * @returns {value is T}
 */
function oneOf(list, value) {
  return /** @type {readonly unknown[]} */ (list).includes(value);
}

/** @returns {LockManager | null} */
function lockManager() {
  return (typeof navigator !== 'undefined' && navigator.locks) || null;
}

/**
 * Whether `value` is a string that parses as an absolute URL (URL.canParse is too new for some browsers still in use).
 * @param {unknown} value
 */
function isAbsoluteUrl(value) {
  try {
    return typeof value === 'string' && new URL(value).origin !== 'null';
  } catch {
    return false;
  }
}

function randomId() {
  return typeof crypto?.randomUUID === 'function' ? crypto.randomUUID() : Math.random().toString(36).slice(2) + Date.now().toString(36);
}
