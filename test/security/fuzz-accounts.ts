// The account fuzz: random password changes, reset requests and resets, verifications, resends, deletions and re-registrations against a model of every account, session and mailed link.
import fc from 'fast-check';
import request from 'supertest';
import { acceptedSchema, tokenResponseSchema, userResponseSchema } from '../../src/http/response-schemas';
import type { ResponseRecorder, Target } from '../helpers/attack';
import { decodeJwt, uniqueEmail } from '../helpers/fixtures';
import { runModelFuzz, type FuzzResult } from './fuzz-run';
import { loggedMail, settled } from './mail-log';

/** Two addresses: enough for one account to act on another's links, sessions and address. */
const SLOTS = 2;
/** Logins cost a bcrypt hash each: a user opens a new session only below this many. */
const MAX_LIVE_SESSIONS = 3;

/** The durations the model needs, from the app's config. */
export interface AccountLifetimes {
  accessTtlSec: number;
  refreshTtlSec: number;
  cooldownMs: number;
  resetTtlMs: number;
  verificationTtlMs: number;
}

/** A session of the account in `slot`: the `session`-th (modulo) of its live ones, or of all when `live` is false or none is live. */
interface Pick {
  slot: number;
  session: number;
  live: boolean;
}

/** Small changes to a mailed token: each gives a token the server never mailed. */
const TOKEN_MUTATIONS = ['flip', 'case', 'cut', 'append', 'pad', 'twice'] as const;
type TokenMutation = (typeof TOKEN_MUTATIONS)[number];

export type AccountStep =
  | { do: 'login'; slot: number; right: boolean }
  | { do: 'advance'; seconds: number }
  | { do: 'refresh'; at: Pick }
  | { do: 'use'; at: Pick; fresh: boolean; route: 'profile' | 'sessions' }
  | { do: 'change'; at: Pick; fresh: boolean; right: boolean }
  | { do: 'forgot'; slot: number; spelling: 'exact' | 'upper' | 'spaced' | 'unknown' }
  | { do: 'resend'; at: Pick; fresh: boolean }
  | { do: 'redeem'; route: 'reset' | 'verify'; own: boolean; token: number; mutation: TokenMutation | null; position: number }
  | { do: 'delete'; at: Pick; fresh: boolean; right: boolean }
  | { do: 'register'; slot: number };

/** Mostly an access token refreshed just before (clock moves expire them often), sometimes the one the session last got. */
const fresh = fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });
/** Mostly the right password: a wrong one changes nothing. */
const right = fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });

const pick: fc.Arbitrary<Pick> = fc.record({
  slot: fc.nat(SLOTS - 1),
  session: fc.nat(),
  live: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
});

/** One step; clock moves aim at both sides of the cooldown, the access token's expiry and both link lifetimes. */
export function accountStepArbitrary({ accessTtlSec, cooldownMs, resetTtlMs, verificationTtlMs }: AccountLifetimes): fc.Arbitrary<AccountStep> {
  const cooldown = Math.ceil(cooldownMs / 1000);
  const reset = Math.ceil(resetTtlMs / 1000);
  const verification = Math.ceil(verificationTtlMs / 1000);
  const seconds = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1, max: Math.max(1, cooldown - 1) }) },
    { weight: 2, arbitrary: fc.constantFrom(cooldown, cooldown + 1) },
    { weight: 1, arbitrary: fc.constantFrom(accessTtlSec - 1, accessTtlSec) },
    { weight: 2, arbitrary: fc.constantFrom(reset - 1, reset) },
    { weight: 2, arbitrary: fc.constantFrom(verification - 1, verification) },
  );
  return fc.oneof(
    { weight: 2, arbitrary: fc.record({ do: fc.constant('login' as const), slot: fc.nat(SLOTS - 1), right: fc.boolean() }) },
    { weight: 4, arbitrary: fc.record({ do: fc.constant('advance' as const), seconds }) },
    { weight: 3, arbitrary: fc.record({ do: fc.constant('refresh' as const), at: pick }) },
    { weight: 4, arbitrary: fc.record({ do: fc.constant('use' as const), at: pick, fresh, route: fc.constantFrom('profile' as const, 'sessions' as const) }) },
    { weight: 3, arbitrary: fc.record({ do: fc.constant('change' as const), at: pick, fresh, right }) },
    {
      weight: 4,
      arbitrary: fc.record({ do: fc.constant('forgot' as const), slot: fc.nat(SLOTS - 1), spelling: fc.constantFrom('exact' as const, 'upper' as const, 'spaced' as const, 'unknown' as const) }),
    },
    { weight: 2, arbitrary: fc.record({ do: fc.constant('resend' as const), at: pick, fresh }) },
    {
      weight: 8,
      arbitrary: fc.record({
        do: fc.constant('redeem' as const),
        route: fc.constantFrom('reset' as const, 'verify' as const),
        // Mostly a link of the route's own kind; sometimes any, the other kind included.
        own: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
        token: fc.nat(),
        // Mostly the mailed token itself (used, void, expired or good): that is where "at most once" is tested.
        mutation: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(...TOKEN_MUTATIONS) }),
        position: fc.nat(),
      }),
    },
    { weight: 2, arbitrary: fc.record({ do: fc.constant('delete' as const), at: pick, fresh, right }) },
    { weight: 1, arbitrary: fc.record({ do: fc.constant('register' as const), slot: fc.nat(SLOTS - 1) }) },
  );
}

function mutateToken(real: string, how: TokenMutation, at: number): string {
  const i = at % real.length;
  switch (how) {
    case 'flip':
      return `${real.slice(0, i)}${real[i] === 'A' ? 'B' : 'A'}${real.slice(i + 1)}`;
    case 'case': {
      const letters = [...real].map((char, index) => (/[a-z]/i.test(char) ? index : -1)).filter((index) => index >= 0);
      const j = letters[at % letters.length]!;
      const char = real[j]!;
      return `${real.slice(0, j)}${char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase()}${real.slice(j + 1)}`;
    }
    case 'cut':
      return real.slice(0, Math.max(1, i));
    case 'append':
      return `${real}${real[i]}`;
    case 'pad':
      return `${real}=`;
    case 'twice':
      return `${real}${real}`;
  }
}

interface ModelUser {
  /** s0.u1: the second account registered at the first address, for the trace. */
  label: string;
  id: string;
  email: string;
  password: string;
  deleted: boolean;
  verified: boolean;
  sessions: ModelSession[];
  /** Until when (ms) no other mail of that kind goes to this account. */
  cooldownUntil: { reset: number; verification: number };
}

interface ModelSession {
  label: string;
  id: string;
  user: ModelUser;
  expiresAt: number;
  ended: string | null;
  access: string;
  accessExp: number;
  refresh: string;
}

interface ModelToken {
  label: string;
  token: string;
  kind: 'reset' | 'verification';
  user: ModelUser;
  expiresAt: number;
  /** Why it can no longer be used (used, voided by a change, the account deleted), or null. */
  spent: string | null;
}

function refusal(res: request.Response) {
  return { status: res.status, error: res.body?.error, description: res.body?.error_description };
}

function invalidToken(description: string) {
  return { status: 401, error: 'invalid_token', description };
}

/**
 * Checks the refusals a route that asks for the password again gives before it acts: the token's
 * (`verdict`, when it fails), then a wrong password's. True when `res` was one of them.
 */
function refusedBeforeActing(res: request.Response, verdict: string | null, right: boolean): boolean {
  if (verdict !== null) {
    expect(refusal(res)).toEqual(invalidToken(verdict));
    return true;
  }
  if (!right) {
    expect(refusal(res)).toEqual({ status: 401, error: 'invalid_credentials', description: expect.any(String) });
    return true;
  }
  return false;
}

/** The app seen through the model: each step sends its requests and checks every answer against what the model says must happen. */
class AccountWorld {
  readonly slots: ModelUser[][] = [];
  readonly tokens: ModelToken[] = [];
  readonly trace: string[] = [];
  readonly seen = new Map<string, number>();
  requests = 0;
  private passwords = 0;

  constructor(
    private readonly t: Target,
    private readonly recorder: ResponseRecorder,
    private readonly lifetimes: AccountLifetimes,
    private readonly run: number,
  ) {}

  private get now(): number {
    return this.t.clock.now();
  }

  private get nowSec(): number {
    return Math.floor(this.now / 1000);
  }

  private http() {
    this.requests += 1;
    return request(this.t.http);
  }

  private count(outcome: string): void {
    this.seen.set(outcome, (this.seen.get(outcome) ?? 0) + 1);
  }

  private newPassword(): string {
    this.passwords += 1;
    const password = `fuzz passphrase r${this.run} n${this.passwords} ${process.pid}`;
    this.recorder.secret(`fuzz password r${this.run} n${this.passwords}`, password);
    return password;
  }

  private current(slot: number): ModelUser {
    const users = this.slots[slot]!;
    return users[users.length - 1]!;
  }

  private live(session: ModelSession): boolean {
    return session.ended === null && !session.user.deleted && this.now < session.expiresAt;
  }

  private liveSessions(user: ModelUser): ModelSession[] {
    return user.sessions.filter((session) => this.live(session));
  }

  private session(at: Pick): ModelSession | null {
    const user = this.current(at.slot);
    const all = this.slots[at.slot]!.flatMap((each) => each.sessions);
    const live = this.liveSessions(user);
    const pool = at.live && live.length > 0 ? live : all;
    return pool.length === 0 ? null : pool[at.session % pool.length]!;
  }

  private state(session: ModelSession): string {
    if (session.user.deleted) return 'account deleted';
    if (session.ended !== null) return `ended (${session.ended})`;
    return this.now < session.expiresAt ? 'live' : 'past its absolute end';
  }

  /** Why a session's access token must be refused now, or null when it must be accepted: expiry is checked (and said) first. */
  private accessVerdict(session: ModelSession): string | null {
    if (this.nowSec >= session.accessExp) return 'token expired';
    return this.live(session) ? null : 'token revoked';
  }

  /** The mails of `kind` to `email` since log line `from`. */
  private mailed(email: string, kind: 'reset' | 'verification', from: number): string[] {
    return loggedMail(this.t.logs, from)
      .filter((mail) => mail.to === email && mail.kind === kind && mail.token !== null)
      .map((mail) => mail.token!);
  }

  private addToken(user: ModelUser, kind: 'reset' | 'verification', token: string): void {
    const ttl = kind === 'reset' ? this.lifetimes.resetTtlMs : this.lifetimes.verificationTtlMs;
    const label = `${user.label}.${kind}${this.tokens.filter((each) => each.user === user && each.kind === kind).length}`;
    this.tokens.push({ label, token, kind, user, expiresAt: this.now + ttl, spent: null });
    this.recorder.secret(`fuzz ${kind} token ${label} (run ${this.run})`, token);
    this.trace[this.trace.length - 1] += `, mailed ${label}`;
  }

  /** Registers the account of `slot` (again): 201, and the verification mail its registration sends. */
  async register(slot: number, why: string): Promise<void> {
    const users = (this.slots[slot] ??= []);
    const email = users[0]?.email ?? uniqueEmail(`fuzz-acct-r${this.run}-s${slot}-`);
    const password = this.newPassword();
    this.trace.push(`${why} s${slot}`);
    this.count(why);
    const from = this.t.logs.length;
    const res = await this.http().post('/register').send({ email, password });
    expect({ status: res.status, email: res.body?.user?.email, verified: res.body?.user?.email_verified }).toEqual({ status: 201, email, verified: false });
    const user: ModelUser = {
      label: `s${slot}.u${users.length}`,
      id: res.body.user.id,
      email,
      password,
      deleted: false,
      verified: false,
      sessions: [],
      cooldownUntil: { reset: 0, verification: this.now + this.lifetimes.cooldownMs },
    };
    users.push(user);
    await settled(this.t.http);
    const mailed = this.mailed(email, 'verification', from);
    expect({ verificationMails: mailed.length }).toEqual({ verificationMails: 1 });
    this.trace[this.trace.length - 1] += ` → ${user.label}`;
    this.addToken(user, 'verification', mailed[0]!);
  }

  /** Every slot has a live account with a live session: the fuzz always has someone to act as. */
  async replenish(): Promise<void> {
    for (let slot = 0; slot < SLOTS; slot += 1) {
      if (this.slots[slot] === undefined || this.current(slot).deleted) await this.register(slot, 're-register');
      const user = this.current(slot);
      if (this.liveSessions(user).length === 0) await this.login(user, true, 're-login');
    }
  }

  async step(step: AccountStep): Promise<void> {
    switch (step.do) {
      case 'login': {
        const user = this.current(step.slot);
        if (step.right && this.liveSessions(user).length >= MAX_LIVE_SESSIONS) {
          this.trace.push(`login ${user.label}: skipped, ${MAX_LIVE_SESSIONS} live sessions`);
          return;
        }
        return this.login(user, step.right, 'login');
      }
      case 'advance':
        this.t.clock.advanceSeconds(step.seconds);
        this.trace.push(`clock +${step.seconds} s`);
        return;
      case 'refresh':
        return this.refresh(step.at);
      case 'use':
        return this.use(await this.freshened(step.at, step.fresh), step.route);
      case 'change':
        return this.change(await this.freshened(step.at, step.fresh), step.right);
      case 'forgot':
        return this.forgot(step.slot, step.spelling);
      case 'resend':
        return this.resend(await this.freshened(step.at, step.fresh));
      case 'redeem':
        return this.redeem(step);
      case 'delete':
        return this.remove(await this.freshened(step.at, step.fresh), step.right);
      case 'register':
        return this.registerTaken(step.slot);
    }
  }

  private async login(user: ModelUser, right: boolean, why: string): Promise<void> {
    const password = right ? user.password : `${user.password}!`;
    const accepted = right && !user.deleted;
    this.trace.push(`${why} ${user.label} (${user.deleted ? 'deleted' : 'exists'}) with ${right ? 'its' : 'a wrong'} password → ${accepted ? '200' : '401'}`);
    this.count(`${why}: ${accepted ? 'accepted' : 'refused'}`);
    const res = await this.http().post('/login').set('User-Agent', 'account fuzz').send({ email: user.email, password });
    if (!accepted) {
      expect(refusal(res)).toEqual({ status: 401, error: 'invalid_credentials', description: expect.any(String) });
      return;
    }
    this.open(user, res, 'login');
  }

  /** Adds the session a login or a change opened, after checking its grant. */
  private open(user: ModelUser, res: request.Response, how: string): ModelSession {
    expect({ status: res.status, body: tokenResponseSchema.safeParse(res.body).success, user: res.body?.user?.id }).toEqual({ status: 200, body: true, user: user.id });
    const sid = String(decodeJwt(res.body.access_token).payload.sid);
    const known = this.slots.flatMap((users) => users.flatMap((each) => each.sessions.map((session) => session.id)));
    expect(known).not.toContain(sid);
    const session: ModelSession = {
      label: `${user.label}.s${user.sessions.length}`,
      id: sid,
      user,
      expiresAt: this.now + this.lifetimes.refreshTtlSec * 1000,
      ended: null,
      access: res.body.access_token,
      accessExp: Number(decodeJwt(res.body.access_token).payload.exp),
      refresh: res.body.refresh_token,
    };
    user.sessions.push(session);
    this.trace[this.trace.length - 1] += ` → ${how} ${session.label}`;
    return session;
  }

  /** The session `at` picks, its tokens refreshed first when `fresh` and it is live (so that its access token has not expired). */
  private async freshened(at: Pick, fresh: boolean): Promise<ModelSession | null> {
    const session = this.session(at);
    if (session && fresh && this.live(session) && this.nowSec >= session.accessExp) await this.refreshSession(session);
    return session;
  }

  private async refresh(at: Pick): Promise<void> {
    const session = this.session(at);
    if (session) await this.refreshSession(session);
  }

  private async refreshSession(session: ModelSession): Promise<void> {
    const accepted = this.live(session);
    this.trace.push(`refresh ${session.label} (${this.state(session)}) → ${accepted ? '200' : '401'}`);
    this.count(`refresh: ${accepted ? 'rotated' : 'refused'}`);
    const res = await this.http().post('/refresh').send({ refresh_token: session.refresh });
    if (!accepted) {
      expect({ status: res.status, error: res.body?.error, issued: 'access_token' in (res.body ?? {}) }).toEqual({ status: 401, error: 'invalid_grant', issued: false });
      return;
    }
    expect({ status: res.status, body: tokenResponseSchema.safeParse(res.body).success, sid: decodeJwt(res.body.access_token).payload.sid }).toEqual({
      status: 200,
      body: true,
      sid: session.id,
    });
    session.access = res.body.access_token;
    session.accessExp = Number(decodeJwt(res.body.access_token).payload.exp);
    session.refresh = res.body.refresh_token;
  }

  private async use(session: ModelSession | null, route: 'profile' | 'sessions'): Promise<void> {
    if (!session) return;
    const verdict = this.accessVerdict(session);
    this.trace.push(`GET /${route} as ${session.label} (${this.state(session)}, exp in ${session.accessExp - this.nowSec} s) → ${verdict ?? '200'}`);
    this.count(`access token: ${verdict ?? 'accepted'}`);
    const res = await this.http().get(`/${route}`).set('Authorization', `Bearer ${session.access}`);
    if (verdict !== null) {
      expect(refusal(res)).toEqual(invalidToken(verdict));
      return;
    }
    if (route === 'profile') {
      expect({ status: res.status, body: userResponseSchema.safeParse(res.body).success, id: res.body.user?.id, verified: res.body.user?.email_verified }).toEqual({
        status: 200,
        body: true,
        id: session.user.id,
        verified: session.user.verified,
      });
      return;
    }
    const listed = (res.body.sessions as { id: string }[]).map((each) => each.id).sort();
    expect({ status: res.status, sessions: listed }).toEqual({ status: 200, sessions: this.liveSessions(session.user).map((each) => each.id).sort() });
  }

  /** The answer a Bearer route must give `session` before it looks at the body: null when the token passes. */
  private bearerVerdict(session: ModelSession): string | null {
    return this.accessVerdict(session);
  }

  private async change(session: ModelSession | null, right: boolean): Promise<void> {
    if (!session) return;
    const user = session.user;
    const verdict = this.bearerVerdict(session);
    const next = this.newPassword();
    const outcome = verdict ?? (right ? '200' : '401 invalid_credentials');
    this.trace.push(`change the password as ${session.label} (${this.state(session)}) with ${right ? 'the right' : 'a wrong'} current one → ${outcome}`);
    this.count(`change: ${verdict ?? (right ? 'changed' : 'wrong password')}`);
    const res = await this.http()
      .post('/password/change')
      .set('Authorization', `Bearer ${session.access}`)
      .send({ current_password: right ? user.password : `${user.password}?`, new_password: next });
    if (refusedBeforeActing(res, verdict, right)) return;
    const ended = this.liveSessions(user);
    user.password = next;
    this.voidTokens(user, 'reset', 'voided by a change');
    const fresh = this.open(user, res, 'new session');
    await this.ended(ended, `password change by ${session.label}`);
    // The new session is the user's only one.
    expect(this.liveSessions(user).map((each) => each.label)).toEqual([fresh.label]);
  }

  private voidTokens(user: ModelUser, kind: 'reset' | 'verification' | 'all', why: string): void {
    for (const token of this.tokens) {
      if (token.user === user && token.spent === null && (kind === 'all' || token.kind === kind)) token.spent = why;
    }
  }

  private async forgot(slot: number, spelling: 'exact' | 'upper' | 'spaced' | 'unknown'): Promise<void> {
    const user = this.current(slot);
    const sent = spelling === 'unknown' ? uniqueEmail('fuzz-nobody') : spelling === 'upper' ? user.email.toUpperCase() : spelling === 'spaced' ? ` ${user.email}\t` : user.email;
    const mails = spelling !== 'unknown' && !user.deleted && this.now >= user.cooldownUntil.reset;
    this.trace.push(`forgot for ${spelling === 'unknown' ? 'an unknown address' : `${user.label} (${user.deleted ? 'deleted' : 'exists'}), ${spelling}`} → 202, ${mails ? 'a mail' : 'no mail'}`);
    this.count(`forgot: ${mails ? 'mailed' : 'no mail'}`);
    const from = this.t.logs.length;
    const res = await this.http().post('/password/forgot').send({ email: sent });
    expect({ status: res.status, body: acceptedSchema.safeParse(res.body).success }).toEqual({ status: 202, body: true });
    await settled(this.t.http);
    const mailed = this.mailed(user.email, 'reset', from);
    expect({ resetMails: mailed.length }).toEqual({ resetMails: mails ? 1 : 0 });
    if (spelling === 'unknown') expect(loggedMail(this.t.logs, from).filter((mail) => mail.to === sent)).toEqual([]);
    if (mails) {
      user.cooldownUntil.reset = this.now + this.lifetimes.cooldownMs;
      this.addToken(user, 'reset', mailed[0]!);
    }
  }

  private async resend(session: ModelSession | null): Promise<void> {
    if (!session) return;
    const user = session.user;
    const verdict = this.bearerVerdict(session);
    const mails = verdict === null && !user.verified && this.now >= user.cooldownUntil.verification;
    this.trace.push(`resend as ${session.label} (${this.state(session)}; ${user.verified ? 'verified' : 'unverified'}) → ${verdict ?? `202, ${mails ? 'a mail' : 'no mail'}`}`);
    this.count(`resend: ${verdict ?? (mails ? 'mailed' : 'no mail')}`);
    const from = this.t.logs.length;
    const res = await this.http().post('/email/verify/resend').set('Authorization', `Bearer ${session.access}`);
    if (verdict !== null) {
      expect(refusal(res)).toEqual(invalidToken(verdict));
      return;
    }
    expect({ status: res.status, body: res.body as unknown }).toEqual({ status: 202, body: { status: 'accepted' } });
    await settled(this.t.http);
    const mailed = this.mailed(user.email, 'verification', from);
    expect({ verificationMails: mailed.length }).toEqual({ verificationMails: mails ? 1 : 0 });
    if (mails) {
      user.cooldownUntil.verification = this.now + this.lifetimes.cooldownMs;
      this.addToken(user, 'verification', mailed[0]!);
    }
  }

  private async redeem(step: Extract<AccountStep, { do: 'redeem' }>): Promise<void> {
    const purpose = step.route === 'reset' ? 'reset' : 'verification';
    const ownKind = this.tokens.filter((each) => each.kind === purpose);
    const pool = step.own && ownKind.length > 0 ? ownKind : this.tokens;
    if (pool.length === 0) return;
    const token = pool[step.token % pool.length]!;
    const sent = step.mutation === null ? token.token : mutateToken(token.token, step.mutation, step.position);
    const why =
      step.mutation !== null ? `mutated (${step.mutation})`
      : token.kind !== purpose ? 'of the other purpose'
      : token.spent !== null ? token.spent
      : this.now >= token.expiresAt ? 'expired'
      : null;
    const next = this.newPassword();
    this.trace.push(`${step.route} with ${token.label}${step.mutation ? ` (${step.mutation}, position ${step.position})` : ''} → ${why === null ? 'accepted' : `400 (${why})`}`);
    this.count(`${step.route}: ${why === null ? 'accepted' : why.startsWith('voided') || why.startsWith('account') ? 'void' : why.startsWith('mutated') ? 'mutated' : why}`);
    const res =
      step.route === 'reset'
        ? await this.http().post('/password/reset').send({ token: sent, new_password: next })
        : await this.http().post('/email/verify').send({ token: sent });
    if (why !== null) {
      expect({ status: res.status, error: res.body?.error, issued: typeof res.body === 'object' && res.body !== null && ('user' in res.body || 'access_token' in res.body) }).toEqual({
        status: 400,
        error: 'invalid_grant',
        issued: false,
      });
      return;
    }
    token.spent = 'used';
    const user = token.user;
    if (step.route === 'verify') {
      expect({ status: res.status, body: userResponseSchema.safeParse(res.body).success, id: res.body.user?.id, verified: res.body.user?.email_verified }).toEqual({
        status: 200,
        body: true,
        id: user.id,
        verified: true,
      });
      user.verified = true;
      return;
    }
    expect({ status: res.status, body: res.text }).toEqual({ status: 204, body: '' });
    user.password = next;
    user.verified = true;
    this.voidTokens(user, 'reset', 'voided by a reset');
    await this.ended(this.liveSessions(user), `reset with ${token.label}`);
  }

  private async remove(session: ModelSession | null, right: boolean): Promise<void> {
    if (!session) return;
    const user = session.user;
    const verdict = this.bearerVerdict(session);
    this.trace.push(`DELETE /profile as ${session.label} (${this.state(session)}) with ${right ? 'its' : 'a wrong'} password → ${verdict ?? (right ? '204' : '401 invalid_credentials')}`);
    this.count(`delete: ${verdict ?? (right ? 'deleted' : 'wrong password')}`);
    const res = await this.http().delete('/profile').set('Authorization', `Bearer ${session.access}`).send({ password: right ? user.password : `${user.password}#` });
    if (refusedBeforeActing(res, verdict, right)) return;
    expect({ status: res.status, body: res.text }).toEqual({ status: 204, body: '' });
    const ended = this.liveSessions(user);
    user.deleted = true;
    this.voidTokens(user, 'all', 'account deleted');
    await this.ended(ended, `account deleted by ${session.label}`);
  }

  /** POST /register for the address of `slot`: 201 when its account was deleted (the address is free again), else 409. */
  private async registerTaken(slot: number): Promise<void> {
    const user = this.current(slot);
    if (user.deleted) return this.register(slot, 'register again');
    this.trace.push(`register ${user.label}'s address while it exists → 409`);
    this.count('register: taken');
    const res = await this.http().post('/register').send({ email: user.email, password: this.newPassword() });
    expect(refusal(res)).toEqual({ status: 409, error: 'email_taken', description: expect.any(String) });
  }

  /**
   * Marks `sessions` ended, then checks that they are: the access token of each is refused (as
   * revoked unless it expired first) at GET /profile and GET /sessions, and its refresh token issues nothing.
   */
  private async ended(sessions: ModelSession[], why: string): Promise<void> {
    for (const session of sessions) {
      session.ended = why;
      const verdict = this.accessVerdict(session)!;
      this.trace.push(`  then ${session.label}'s tokens → ${verdict}, refresh refused`);
      for (const route of ['profile', 'sessions']) {
        const res = await this.http().get(`/${route}`).set('Authorization', `Bearer ${session.access}`);
        expect({ route, ...refusal(res) }).toEqual({ route, ...invalidToken(verdict) });
      }
      const res = await this.http().post('/refresh').send({ refresh_token: session.refresh });
      expect({ status: res.status, error: res.body?.error }).toEqual({ status: 401, error: 'invalid_grant' });
    }
  }
}

/**
 * Runs `runs` sequences of `steps` steps each against the app of `t` (whose clock the steps move),
 * each sequence with fresh accounts. Throws on the first answer the model did not expect, naming
 * the seed, the step, and the steps that led there.
 */
export function runAccountFuzz(
  t: Target,
  options: { seed: number; runs: number; steps: number; lifetimes: AccountLifetimes; backend: string; recorder: ResponseRecorder },
): Promise<FuzzResult> {
  return runModelFuzz(accountStepArbitrary(options.lifetimes), options, {
    name: 'account run',
    settingUp: 'registering and logging in the accounts',
    world: (run) => new AccountWorld(t, options.recorder, options.lifetimes, run),
    setUp: (world) => world.replenish(),
    step: async (world, step) => {
      await world.step(step);
      await world.replenish();
    },
    settle: () => settled(t.http),
  });
}
