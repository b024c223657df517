// The session fuzz: random logins, refreshes, replays, logouts, ended sessions, forged tokens and clock moves, every answer checked against a model of every session.
import fc from 'fast-check';
import request from 'supertest';
import { REFRESH_COOKIE } from '../../src/http/cookie-mode';
import { sessionListSchema, tokenResponseSchema, userResponseSchema } from '../../src/http/response-schemas';
import { CLIENT, type Target } from '../helpers/attack';
import { decodeJwt, PASSWORD, uniqueEmail } from '../helpers/fixtures';
import { runModelFuzz, type FuzzResult } from './fuzz-run';
import { FOREIGN_SIGNERS, MUTATIONS, mutate, resign, type ForeignSigner, type Mutation } from './fuzz-tokens';

/** Two users: enough for "others" and "global" to have a neighbour to spare, and for a foreign session to end. */
const USERS = 2;
/** Logins cost a bcrypt hash each (about 70 ms): a user opens a new session only below this many. */
const MAX_LIVE_SESSIONS = 3;

/** Which session a step acts on: of user `user`, the `session`-th (modulo) of its live ones, or of all when `live` is false or none is live. */
interface Pick {
  user: number;
  session: number;
  live: boolean;
}

/** A refresh token of the session's chain: the current one, the one rotated out last, or an older one. */
type Generation = 'current' | 'previous' | 'older';

const ACCESS_DOORS = ['profile', 'sessions', 'end', 'logout', 'introspect'] as const;
const REFRESH_DOORS = ['refresh', 'logout'] as const;

export type Step =
  | { do: 'login'; user: number }
  | { do: 'advance'; seconds: number }
  | { do: 'advance to the end of'; at: Pick; offset: -1 | 0 | 1 }
  | { do: 'refresh'; at: Pick; generation: Generation; older: number; via: 'body' | 'cookie' }
  | { do: 'use'; at: Pick; newest: boolean; any: number; route: 'profile' | 'sessions' | 'introspect' }
  | { do: 'logout'; at: Pick; credential: 'refresh' | 'cookie' | 'access' | 'both'; generation: Generation; older: number; scope: 'local' | 'others' | 'global' }
  | { do: 'end'; at: Pick; whose: 'own' | 'other' | 'unknown'; target: Pick }
  | { do: 'forge'; at: Pick; of: 'access' | 'refresh'; how: Mutation | ForeignSigner; position: number; door: number };

/** The durations the model needs, from the app's config. */
export interface Lifetimes {
  accessTtlSec: number;
  refreshTtlSec: number;
  graceMs: number;
}

const pick: fc.Arbitrary<Pick> = fc.record({
  user: fc.nat(USERS - 1),
  session: fc.nat(),
  // Mostly a live session (where things can still change), sometimes any, ended ones included.
  live: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
});

/** Replays are half the point: the previous token (in or out of its grace window) and older ones come up often. */
const generation: fc.Arbitrary<Generation> = fc.oneof(
  { weight: 5, arbitrary: fc.constant('current' as const) },
  { weight: 3, arbitrary: fc.constant('previous' as const) },
  { weight: 2, arbitrary: fc.constant('older' as const) },
);

/** One step of the session fuzz; clock moves aim at both sides of the grace window and of the access token's expiry. */
export function stepArbitrary({ accessTtlSec, graceMs }: Lifetimes): fc.Arbitrary<Step> {
  const graceSec = Math.max(1, Math.ceil(graceMs / 1000));
  const seconds = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1, max: Math.max(1, graceSec - 1) }) },
    { weight: 2, arbitrary: fc.constantFrom(graceSec, graceSec + 1) },
    { weight: 2, arbitrary: fc.integer({ min: graceSec + 2, max: 300 }) },
    { weight: 2, arbitrary: fc.constantFrom(accessTtlSec - 1, accessTtlSec, accessTtlSec + 1) },
    { weight: 1, arbitrary: fc.integer({ min: 3600, max: 86_400 }) },
    { weight: 2, arbitrary: fc.integer({ min: 86_400, max: 3 * 86_400 }) },
  );
  const forgery = fc.oneof(fc.constantFrom(...MUTATIONS), fc.constantFrom(...FOREIGN_SIGNERS));
  return fc.oneof(
    { weight: 2, arbitrary: fc.record({ do: fc.constant('login' as const), user: fc.nat(USERS - 1) }) },
    { weight: 6, arbitrary: fc.record({ do: fc.constant('advance' as const), seconds }) },
    {
      // Rare: it ends every session of that age at once, and each user then logs in again (bcrypt).
      weight: 1,
      arbitrary: fc.record({ do: fc.constant('advance to the end of' as const), at: pick, offset: fc.constantFrom(-1 as const, 0 as const, 1 as const) }),
    },
    {
      weight: 12,
      arbitrary: fc.record({ do: fc.constant('refresh' as const), at: pick, generation, older: fc.nat(), via: fc.constantFrom('body' as const, 'cookie' as const) }),
    },
    {
      weight: 10,
      arbitrary: fc.record({
        do: fc.constant('use' as const),
        at: pick,
        newest: fc.boolean(),
        any: fc.nat(),
        route: fc.constantFrom('profile' as const, 'sessions' as const, 'introspect' as const),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        do: fc.constant('logout' as const),
        at: pick,
        credential: fc.constantFrom('refresh' as const, 'cookie' as const, 'access' as const, 'both' as const),
        generation,
        older: fc.nat(),
        scope: fc.constantFrom('local' as const, 'others' as const, 'global' as const),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ do: fc.constant('end' as const), at: pick, whose: fc.constantFrom('own' as const, 'other' as const, 'unknown' as const), target: pick }),
    },
    {
      weight: 8,
      arbitrary: fc.record({
        do: fc.constant('forge' as const),
        at: pick,
        of: fc.constantFrom('access' as const, 'refresh' as const),
        how: forgery,
        position: fc.nat(),
        door: fc.nat(),
      }),
    },
  );
}

interface ModelUser {
  label: string;
  id: string;
  email: string;
  sessions: ModelSession[];
}

interface ModelSession {
  /** u0.s2: the third session of the first user, for the trace. */
  label: string;
  id: string;
  user: ModelUser;
  createdAt: number;
  /** Absolute end (ms): the login plus the refresh lifetime; nothing moves it. */
  expiresAt: number;
  /** Why the session ended (logout, reuse, DELETE /sessions), or null while it has not. */
  ended: string | null;
  /** Every refresh token the session was given, oldest first: the last one is current. */
  refresh: { token: string; jti: string }[];
  /** When the last rotation happened (ms); the login, before the first. */
  rotatedAt: number;
  /** Every access token the session was given, oldest first, with its `exp` (seconds). */
  access: { token: string; exp: number }[];
}

/** What a refusal at a protected route looks like, as one object so that a failure shows all of it. */
function refusal(res: request.Response) {
  return { status: res.status, error: res.body?.error, description: res.body?.error_description, challenge: res.headers['www-authenticate'] };
}

function invalidToken(description: string) {
  const challenge = `Bearer realm="auth", error="invalid_token", error_description="${description}"`;
  return { status: 401, error: 'invalid_token', description, challenge };
}

function grantRefusal(res: request.Response) {
  return { status: res.status, error: res.body?.error, issued: typeof res.body === 'object' && res.body !== null && 'access_token' in res.body };
}

const GRANT_REFUSED = { status: 401, error: 'invalid_grant', issued: false };

/** The refresh token a cookie-mode answer set, or undefined. */
function cookieToken(res: request.Response): string | undefined {
  const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const ours = cookies.find((cookie) => cookie.startsWith(`${REFRESH_COOKIE}=`));
  return ours?.slice(REFRESH_COOKIE.length + 1).split(';')[0];
}

/** The app seen through the model: every step sends its requests and checks each answer against what the model says must happen. */
class World {
  readonly users: ModelUser[] = [];
  /** What the steps did, one line each, for the failure report. */
  readonly trace: string[] = [];
  requests = 0;
  /** How often each outcome came up: what the run reached (printed, so a run that reached little shows). */
  readonly seen = new Map<string, number>();

  constructor(
    private readonly t: Target,
    private readonly lifetimes: Lifetimes,
  ) {}

  private get now(): number {
    return this.t.clock.now();
  }

  private get nowSec(): number {
    return Math.floor(this.now / 1000);
  }

  private live(session: ModelSession): boolean {
    return session.ended === null && this.now < session.expiresAt;
  }

  private liveSessions(user: ModelUser): ModelSession[] {
    return user.sessions.filter((session) => this.live(session));
  }

  private count(outcome: string): void {
    this.seen.set(outcome, (this.seen.get(outcome) ?? 0) + 1);
  }

  private http() {
    this.requests += 1;
    return request(this.t.http);
  }

  /** Fresh users, so that every run starts from a model that knows every session there is. */
  async start(run: number): Promise<void> {
    for (let i = 0; i < USERS; i += 1) {
      const email = uniqueEmail(`fuzz-r${run}-u${i}-`);
      const res = await this.http().post('/register').send({ email, password: PASSWORD });
      expect({ status: res.status, email: res.body?.user?.email }).toEqual({ status: 201, email });
      this.users.push({ label: `u${i}`, id: res.body.user.id, email, sessions: [] });
    }
    await this.relogin();
  }

  /** Logs in every user whose sessions have all ended: the fuzz always has a victim to attack. */
  async relogin(): Promise<void> {
    for (const user of this.users) {
      if (this.liveSessions(user).length === 0) await this.login(user, 're-login');
    }
  }

  private session(at: Pick, users = this.users): ModelSession {
    const user = users[at.user % users.length]!;
    const live = this.liveSessions(user);
    const pool = at.live && live.length > 0 ? live : user.sessions;
    return pool[at.session % pool.length]!;
  }

  private refreshIndex(session: ModelSession, chosen: Generation, older: number): number {
    const last = session.refresh.length - 1;
    if (chosen === 'current' || last === 0) return last;
    if (chosen === 'previous' || last === 1) return last - 1;
    return older % (last - 1);
  }

  /** The token at `index` is current, or was rotated out last and its grace window lasts. */
  private honoured(session: ModelSession, index: number): boolean {
    const last = session.refresh.length - 1;
    return index === last || (index === last - 1 && this.now - session.rotatedAt < this.lifetimes.graceMs);
  }

  private generationName(session: ModelSession, index: number): string {
    const behind = session.refresh.length - 1 - index;
    if (behind === 0) return 'current refresh token';
    const since = (this.now - session.rotatedAt) / 1000;
    return behind === 1 ? `previous refresh token (rotated out ${since} s ago)` : `refresh token of ${behind} rotations ago`;
  }

  private state(session: ModelSession): string {
    if (session.ended !== null) return `ended (${session.ended})`;
    return this.now < session.expiresAt ? 'live' : 'past its absolute end';
  }

  async run(step: Step): Promise<void> {
    switch (step.do) {
      case 'login': {
        const user = this.users[step.user]!;
        if (this.liveSessions(user).length >= MAX_LIVE_SESSIONS) {
          this.trace.push(`login ${user.label}: skipped, ${MAX_LIVE_SESSIONS} live sessions`);
          return;
        }
        await this.login(user, 'login');
        return;
      }
      case 'advance':
        this.t.clock.advanceSeconds(step.seconds);
        this.trace.push(`clock +${step.seconds} s`);
        return;
      case 'advance to the end of': {
        const session = this.session(step.at);
        const by = Math.max(0, Math.ceil((session.expiresAt - this.now) / 1000) + step.offset);
        this.t.clock.advanceSeconds(by);
        this.trace.push(`clock +${by} s, to ${step.offset === 0 ? 'the' : step.offset < 0 ? '1 s before the' : '1 s after the'} absolute end of ${session.label}`);
        return;
      }
      case 'refresh':
        return this.refresh(step);
      case 'use':
        return this.use(step);
      case 'logout':
        return this.logout(step);
      case 'end':
        return this.end(step);
      case 'forge':
        return this.forge(step);
    }
  }

  private async login(user: ModelUser, why: string): Promise<void> {
    this.trace.push(`${why} ${user.label}`);
    this.count(why);
    const res = await this.http().post('/login').set('User-Agent', 'fuzz').send({ email: user.email, password: PASSWORD });
    expect({ status: res.status, body: tokenResponseSchema.safeParse(res.body).success }).toEqual({ status: 200, body: true });
    const sid = String(decodeJwt(res.body.access_token).payload.sid);
    const known = this.users.flatMap((other) => other.sessions.map((session) => session.id));
    expect(known).not.toContain(sid);
    const session: ModelSession = {
      label: `${user.label}.s${user.sessions.length}`,
      id: sid,
      user,
      createdAt: this.now,
      expiresAt: this.now + this.lifetimes.refreshTtlSec * 1000,
      ended: null,
      refresh: [],
      rotatedAt: this.now,
      access: [],
    };
    user.sessions.push(session);
    this.accept(session, res, res.body.refresh_token);
    this.trace[this.trace.length - 1] += ` → ${session.label}`;
  }

  /**
   * Checks a token grant for `session` (login or refresh) and adds its tokens to the model: the
   * access token expires after its lifetime or at the session's absolute end, whichever is first,
   * and the refresh token at that end, however often it was rotated.
   */
  private accept(session: ModelSession, res: request.Response, refreshToken: string): void {
    const nowSec = this.nowSec;
    const endSec = Math.floor(session.expiresAt / 1000);
    const exp = Math.min(nowSec + this.lifetimes.accessTtlSec, endSec);
    const access = decodeJwt(res.body.access_token).payload;
    const refresh = decodeJwt(refreshToken).payload;
    expect({
      user: res.body.user?.id,
      access: { sub: access.sub, sid: access.sid, exp: access.exp },
      expires_at: res.body.expires_at,
      expires_in: res.body.expires_in,
      refresh: { sub: refresh.sub, sid: refresh.sid, exp: refresh.exp },
      refresh_expires_in: res.body.refresh_expires_in,
      cache: res.headers['cache-control'],
    }).toEqual({
      user: session.user.id,
      access: { sub: session.user.id, sid: session.id, exp },
      expires_at: exp,
      expires_in: exp - nowSec,
      refresh: { sub: session.user.id, sid: session.id, exp: endSec },
      refresh_expires_in: endSec - nowSec,
      cache: 'no-store',
    });
    session.access.push({ token: res.body.access_token, exp });
    const jti = String(refresh.jti);
    const current = session.refresh[session.refresh.length - 1];
    if (current?.jti !== jti) {
      expect(session.refresh.map((entry) => entry.jti)).not.toContain(jti);
      session.refresh.push({ token: refreshToken, jti });
    }
  }

  private async refresh(step: Extract<Step, { do: 'refresh' }>): Promise<void> {
    const session = this.session(step.at);
    const index = this.refreshIndex(session, step.generation, step.older);
    const last = session.refresh.length - 1;
    const live = this.live(session);
    const outcome = !live ? 'refused' : index === last ? 'rotated' : this.honoured(session, index) ? 'grace' : 'reuse';
    this.trace.push(`refresh ${session.label} (${this.state(session)}) with its ${this.generationName(session, index)} in the ${step.via} → ${outcome}`);
    this.count(outcome === 'refused' ? `refresh refused: session ${session.ended === null ? 'past its end' : 'ended'}` : `refresh: ${outcome}`);

    const token = session.refresh[index]!.token;
    let req = this.http().post('/refresh');
    if (step.via === 'cookie') req = req.set('X-Token-Mode', 'cookie').set('Cookie', `${REFRESH_COOKIE}=${token}`);
    const res = step.via === 'cookie' ? await req : await req.send({ refresh_token: token });

    if (outcome === 'refused' || outcome === 'reuse') {
      expect(grantRefusal(res)).toEqual(GRANT_REFUSED);
      if (outcome === 'reuse') await this.ended([session], `reuse of its ${this.generationName(session, index)}`);
      return;
    }
    expect({ status: res.status, body: tokenResponseSchema.safeParse(res.body).success }).toEqual({ status: 200, body: true });
    const successor = step.via === 'cookie' ? cookieToken(res) : res.body.refresh_token;
    expect({ inBody: 'refresh_token' in res.body, successor: typeof successor }).toEqual({ inBody: step.via === 'body', successor: 'string' });
    const jti = decodeJwt(successor!).payload.jti;
    if (outcome === 'grace') {
      // The second tab gets the very successor the first one got, not a new one.
      expect(jti).toBe(session.refresh[last]!.jti);
    } else {
      expect(jti).not.toBe(session.refresh[last]!.jti);
      session.rotatedAt = this.now;
    }
    this.accept(session, res, successor!);
  }

  /** The access token of `session` the step picks: its newest, or any it was given. */
  private accessToken(session: ModelSession, newest: boolean, any: number) {
    return newest ? session.access[session.access.length - 1]! : session.access[any % session.access.length]!;
  }

  /** Why an access token must be refused now, or null when it must be accepted: expiry is checked (and said) before revocation. */
  private accessVerdict(session: ModelSession, exp: number): string | null {
    if (this.nowSec >= exp) return 'token expired';
    return this.live(session) ? null : 'token revoked';
  }

  private async use(step: Extract<Step, { do: 'use' }>): Promise<void> {
    const session = this.session(step.at);
    const access = this.accessToken(session, step.newest, step.any);
    const verdict = this.accessVerdict(session, access.exp);
    const age = session.access.length - 1 - session.access.indexOf(access);
    this.trace.push(
      `${step.route} with an access token of ${session.label} (${this.state(session)}; ${age === 0 ? 'its newest' : `${age} older than its newest`}, exp in ${access.exp - this.nowSec} s) → ${verdict ?? 'accepted'}`,
    );
    await this.present(session, access.token, step.route, verdict);
  }

  /** Sends `token` as an access token to `route` and checks the answer: accepted when `verdict` is null, else refused with it. */
  private async present(session: ModelSession, token: string, route: 'profile' | 'sessions' | 'introspect', verdict: string | null): Promise<void> {
    this.count(`access token: ${verdict ?? 'accepted'}`);
    if (route === 'introspect') {
      const res = await this.http().post('/introspect').auth(CLIENT.id, CLIENT.secret).type('form').send({ token });
      const body = res.body as Record<string, unknown>;
      expect({ status: res.status, active: body.active, sub: body.sub, sid: body.sid }).toEqual(
        verdict === null
          ? { status: 200, active: true, sub: session.user.id, sid: session.id }
          : { status: 200, active: false, sub: undefined, sid: undefined },
      );
      return;
    }
    const res = await this.http().get(`/${route}`).set('Authorization', `Bearer ${token}`);
    if (verdict !== null) {
      expect(refusal(res)).toEqual(invalidToken(verdict));
      return;
    }
    if (route === 'profile') {
      expect({ status: res.status, body: userResponseSchema.safeParse(res.body).success, user: res.body.user?.id, email: res.body.user?.email }).toEqual({
        status: 200,
        body: true,
        user: session.user.id,
        email: session.user.email,
      });
      return;
    }
    // GET /sessions: exactly the user's live sessions, this one marked current, with their own times.
    expect({ status: res.status, body: sessionListSchema.safeParse(res.body).success }).toEqual({ status: 200, body: true });
    const listed = res.body.sessions as { id: string; current: boolean; created_at: string; expires_at: string }[];
    const order = listed.map((entry) => entry.created_at);
    expect(order).toEqual([...order].sort());
    const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);
    expect(listed.map(({ id, current, created_at, expires_at }) => ({ id, current, created_at, expires_at })).sort(byId)).toEqual(
      this.liveSessions(session.user)
        .map((live) => ({
          id: live.id,
          current: live === session,
          created_at: new Date(live.createdAt).toISOString(),
          expires_at: new Date(live.expiresAt).toISOString(),
        }))
        .sort(byId),
    );
  }

  private async logout(step: Extract<Step, { do: 'logout' }>): Promise<void> {
    const session = this.session(step.at);
    const withRefresh = step.credential !== 'access';
    const withAccess = step.credential === 'access' || step.credential === 'both';
    const index = this.refreshIndex(session, step.generation, step.older);
    const access = session.access[session.access.length - 1]!;
    const user = session.user;

    // Logout checks the access token's signature and expiry, not its session: an ended session's token logs out nothing, with a 204.
    const expired = withAccess && this.nowSec >= access.exp;
    let ends: ModelSession[] = [];
    let why = '';
    if (!expired && this.live(session)) {
      if (withRefresh && !this.honoured(session, index)) {
        ends = [session];
        why = `reuse of its ${this.generationName(session, index)} at logout`;
      } else {
        const others = this.liveSessions(user).filter((other) => other !== session);
        ends = step.scope === 'local' ? [session] : step.scope === 'others' ? others : [session, ...others];
        why = `logout ${step.scope} from ${session.label}`;
      }
    }
    const credentials = [withRefresh ? `its ${this.generationName(session, index)}${step.credential === 'cookie' ? ' in the cookie' : ''}` : '', withAccess ? 'its newest access token' : '']
      .filter(Boolean)
      .join(' and ');
    this.trace.push(
      `logout ${step.scope} ${session.label} (${this.state(session)}) with ${credentials} → ${expired ? '401 token expired' : `204, ends ${ends.map((s) => s.label).join(', ') || 'nothing'}`}`,
    );

    let req = this.http().post('/logout');
    if (withAccess) req = req.set('Authorization', `Bearer ${access.token}`);
    const token = session.refresh[index]!.token;
    if (step.credential === 'cookie') req = req.set('X-Token-Mode', 'cookie').set('Cookie', `${REFRESH_COOKIE}=${token}`);
    const res = await req.send(step.credential === 'refresh' || step.credential === 'both' ? { refresh_token: token, scope: step.scope } : { scope: step.scope });

    if (expired) {
      expect(refusal(res)).toEqual(invalidToken('token expired'));
      return;
    }
    expect({ status: res.status, body: res.text }).toEqual({ status: 204, body: '' });
    if (step.credential === 'cookie') expect(cookieToken(res)).toBe('');
    this.count(ends.length === 0 ? 'logout: ended nothing' : why.startsWith('reuse') ? 'logout: reuse' : `logout ${step.scope}`);
    await this.ended(ends, why);
  }

  private async end(step: Extract<Step, { do: 'end' }>): Promise<void> {
    const caller = this.session(step.at);
    const access = caller.access[caller.access.length - 1]!;
    const others = this.users.filter((user) => user !== caller.user);
    const target = step.whose === 'unknown' ? null : this.session(step.target, step.whose === 'own' ? [caller.user] : others);
    const targetId = target?.id ?? `no-such-session-${step.target.session}`;
    const verdict = this.accessVerdict(caller, access.exp);
    const found = target !== null && target.user === caller.user && this.live(target);
    this.trace.push(
      `DELETE /sessions/${target?.label ?? 'unknown'}${target ? ` (${this.state(target)})` : ''} as ${caller.label} (${this.state(caller)}) → ${verdict ?? (found ? '204' : '404')}`,
    );

    const res = await this.http().delete(`/sessions/${targetId}`).set('Authorization', `Bearer ${access.token}`);
    this.count(`DELETE /sessions: ${verdict ?? (found ? 'ended' : 'not found')}`);
    if (verdict !== null) {
      expect(refusal(res)).toEqual(invalidToken(verdict));
    } else if (!found) {
      // Another user's session is "not found", as an unknown or ended one: nothing tells it exists.
      expect({ status: res.status, error: res.body?.error }).toEqual({ status: 404, error: 'not_found' });
    } else {
      expect({ status: res.status, body: res.text }).toEqual({ status: 204, body: '' });
      await this.ended([target!], `DELETE /sessions by ${caller.label}`);
    }
  }

  /**
   * A bad token at one of the doors that take its kind: a mutation of the session's real token,
   * or its claims (made fresh) signed by a key that is not the one that verifies them. Refused
   * everywhere, and it ends nothing: later steps find the session as the model left it.
   */
  private async forge(step: Extract<Step, { do: 'forge' }>): Promise<void> {
    const session = this.session(step.at);
    const nowSec = this.nowSec;
    const real = step.of === 'access' ? session.access[session.access.length - 1]!.token : session.refresh[session.refresh.length - 1]!.token;
    const fresh = step.of === 'access' ? { iat: nowSec, exp: nowSec + this.lifetimes.accessTtlSec } : { iat: nowSec, exp: Math.floor(session.expiresAt / 1000) };
    const token = (MUTATIONS as readonly string[]).includes(step.how)
      ? mutate(real, step.how as Mutation, step.position)
      : resign(real, step.how as ForeignSigner, fresh, step.position);
    expect(token).not.toBe(real);
    this.count(`forged ${step.of} token refused`);

    if (step.of === 'refresh') {
      const door = REFRESH_DOORS[step.door % REFRESH_DOORS.length]!;
      this.trace.push(`${door} with ${session.label}'s refresh token, ${step.how} (position ${step.position}) → 401 invalid_grant`);
      const res = await this.http().post(`/${door}`).send(door === 'logout' ? { refresh_token: token, scope: 'global' } : { refresh_token: token });
      expect(grantRefusal(res)).toEqual(GRANT_REFUSED);
      return;
    }
    const door = ACCESS_DOORS[step.door % ACCESS_DOORS.length]!;
    this.trace.push(`${door} with ${session.label}'s access token, ${step.how} (position ${step.position}) → refused, token invalid`);
    if (door === 'profile' || door === 'sessions' || door === 'introspect') {
      await this.present(session, token, door, 'token invalid');
      return;
    }
    const res =
      door === 'end'
        ? await this.http().delete(`/sessions/${session.id}`).set('Authorization', `Bearer ${token}`)
        : await this.http().post('/logout').set('Authorization', `Bearer ${token}`).send({ scope: 'global' });
    expect(refusal(res)).toEqual(invalidToken('token invalid'));
  }

  /**
   * Marks `sessions` ended, then checks that they are: the newest access token of each (if it has
   * not expired) is refused as revoked, and its current refresh token issues nothing.
   */
  private async ended(sessions: ModelSession[], why: string): Promise<void> {
    for (const session of sessions) {
      session.ended = why;
      const access = session.access[session.access.length - 1]!;
      const verdict = this.accessVerdict(session, access.exp);
      const route = session.access.length % 2 === 0 ? 'profile' : 'sessions';
      this.trace.push(`  then ${route} with the newest access token of ${session.label} → ${verdict}`);
      await this.present(session, access.token, route, verdict);
      this.trace.push(`  then refresh ${session.label} with its current refresh token → refused`);
      const res = await this.http().post('/refresh').send({ refresh_token: session.refresh[session.refresh.length - 1]!.token });
      expect(grantRefusal(res)).toEqual(GRANT_REFUSED);
    }
  }
}

/**
 * Runs `runs` sequences of `steps` steps each against the app of `t` (whose clock the steps move),
 * each sequence with fresh users. Throws on the first answer the model did not expect, naming the
 * seed, the step, and the steps that led there.
 */
export function runSessionFuzz(
  t: Target,
  options: { seed: number; runs: number; steps: number; lifetimes: Lifetimes; backend: string },
): Promise<FuzzResult> {
  return runModelFuzz(stepArbitrary(options.lifetimes), options, {
    name: 'run',
    settingUp: 'registering and logging in the users',
    world: () => new World(t, options.lifetimes),
    setUp: (world, run) => world.start(run),
    step: async (world, step) => {
      await world.run(step);
      await world.relogin();
    },
  });
}
