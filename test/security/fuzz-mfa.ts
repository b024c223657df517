// The second-factor fuzz: random enrolments, confirmations, two-step sign-ins with real, replayed, old, foreign, wrong and recovery codes, forged and dead mfa_tokens, removals and clock moves, against a model of each account's factor.
import fc from 'fast-check';
import request from 'supertest';
import { totpCode, totpStep } from '../../src/auth/totp';
import { recoveryCodesSchema, tokenResponseSchema, totpEnrolmentSchema } from '../../src/http/response-schemas';
import type { Target } from '../helpers/attack';
import { decodeJwt, PASSWORD, registerAndLogin } from '../helpers/fixtures';
import { runModelFuzz, type FuzzResult } from './fuzz-run';
import { FOREIGN_SIGNERS, MUTATIONS, mutate, resign } from './fuzz-tokens';

const SLOTS = 2;
/**
 * Keys that make a re-signed mfa_token a forgery. Not 'other-type-secret': for a token that is not a
 * refresh token it is the refresh key, which is the very key mfa_tokens are signed with, so the
 * re-signed token is genuine.
 */
const MFA_FORGERS = FOREIGN_SIGNERS.filter((signer) => signer !== 'other-type-secret');
const STEP_MS = 30_000;
const TOKEN_TTL_MS = 300_000;
const MAX_WRONG = 5;

/** The codes a step can present: each kind says what the model expects of it. */
const CODE_KINDS = ['current', 'previous', 'next', 'replayed', 'stale', 'foreign', 'wrong', 'recovery', 'recovery-respelled', 'used-recovery', 'foreign-recovery'] as const;
type CodeKind = (typeof CODE_KINDS)[number];
/** Codes no route may take: 400 before anything is checked. */
const MALFORMED = ['12345', '1234567', 'abcdef', '123 456', '١٢٣٤٥٦', '', '9'.repeat(40)] as const;

export type MfaStep =
  | { do: 'enrol'; slot: number }
  | { do: 'confirm'; slot: number; code: CodeKind }
  | { do: 'login'; slot: number }
  | { do: 'answer'; slot: number; token: number; code: CodeKind; forgery: 'none' | 'mutated' | 'foreign-signed' | 'other-user'; how: number }
  | { do: 'remove'; slot: number; code: CodeKind }
  | { do: 'malformed'; slot: number; route: 'answer' | 'confirm' | 'remove'; code: number }
  | { do: 'advance'; seconds: number };

export function mfaStepArbitrary(): fc.Arbitrary<MfaStep> {
  const slot = fc.nat(SLOTS - 1);
  const code = fc.constantFrom(...CODE_KINDS);
  return fc.oneof(
    { weight: 2, arbitrary: fc.record({ do: fc.constant('enrol' as const), slot }) },
    { weight: 3, arbitrary: fc.record({ do: fc.constant('confirm' as const), slot, code: fc.oneof({ weight: 3, arbitrary: fc.constant('current' as const) }, { weight: 1, arbitrary: code }) }) },
    { weight: 4, arbitrary: fc.record({ do: fc.constant('login' as const), slot }) },
    {
      weight: 10,
      arbitrary: fc.record({
        do: fc.constant('answer' as const),
        slot,
        token: fc.nat(),
        code,
        forgery: fc.oneof({ weight: 6, arbitrary: fc.constant('none' as const) }, { weight: 1, arbitrary: fc.constantFrom('mutated' as const, 'foreign-signed' as const, 'other-user' as const) }),
        how: fc.nat(),
      }),
    },
    { weight: 2, arbitrary: fc.record({ do: fc.constant('remove' as const), slot, code }) },
    { weight: 1, arbitrary: fc.record({ do: fc.constant('malformed' as const), slot, route: fc.constantFrom('answer' as const, 'confirm' as const, 'remove' as const), code: fc.nat() }) },
    {
      weight: 4,
      arbitrary: fc.record({
        do: fc.constant('advance' as const),
        // Mostly within a step or two; sometimes to either side of the mfa_token's 300 s.
        seconds: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 45 }) }, { weight: 1, arbitrary: fc.constantFrom(30, 60, 299, 300, 301) }),
      }),
    },
  );
}

interface ModelChallenge {
  label: string;
  token: string;
  user: ModelUser;
  createdAt: number;
  /** Attempts counted against it (every answer that reached the code check, and the ones past the budget). */
  hits: number;
  used: boolean;
}

interface ModelUser {
  label: string;
  id: string;
  email: string;
  refresh: string;
  /** The secret of the pending or confirmed factor, or null when none. */
  secret: string | null;
  confirmed: boolean;
  /** The highest step accepted (confirmation included); a step at or below it never passes again. */
  lastStep: number | null;
  recoveryLeft: string[];
  recoveryUsed: string[];
  /** Every TOTP code accepted, with its step, for replays. */
  accepted: { code: string; step: number }[];
}

function answer(res: request.Response) {
  return { status: res.status, error: res.body?.error as unknown, issued: typeof res.body === 'object' && res.body !== null && ('access_token' in res.body || 'refresh_token' in res.body) };
}

class MfaWorld {
  readonly users: ModelUser[] = [];
  readonly challenges: ModelChallenge[] = [];
  readonly trace: string[] = [];
  readonly seen = new Map<string, number>();
  /** Every (user, step) and recovery code the server accepted, across the run: none may pass twice. */
  private readonly everAccepted = new Set<string>();
  requests = 0;

  constructor(private readonly t: Target, private readonly run: number) {}

  private get now(): number {
    return this.t.clock.now();
  }

  private http() {
    this.requests += 1;
    return request(this.t.http);
  }

  private count(outcome: string): void {
    this.seen.set(outcome, (this.seen.get(outcome) ?? 0) + 1);
  }

  async setUp(): Promise<void> {
    for (let slot = 0; slot < SLOTS; slot += 1) {
      const { email, tokens } = await registerAndLogin(this.t.http);
      this.users.push({
        label: `r${this.run}.u${slot}`,
        id: tokens.user.id,
        email,
        refresh: tokens.refresh_token,
        secret: null,
        confirmed: false,
        lastStep: null,
        recoveryLeft: [],
        recoveryUsed: [],
        accepted: [],
      });
    }
    // The first account starts with its factor on and a sign-in waiting for it, so that sequences
    // reach the second step early; the second starts without one.
    const first = this.users[0]!;
    await this.step({ do: 'enrol', slot: 0 });
    await this.step({ do: 'confirm', slot: 0, code: 'current' });
    await this.step({ do: 'login', slot: 0 });
    if (!first.confirmed) throw new Error('the first account did not enrol');
  }

  /** A fresh access token of the user's first session (refreshed now, so clock moves never expire it). */
  private async access(user: ModelUser): Promise<string> {
    const res = await this.http().post('/refresh').send({ refresh_token: user.refresh });
    expect({ status: res.status, who: user.label }).toEqual({ status: 200, who: user.label });
    user.refresh = res.body.refresh_token;
    return res.body.access_token as string;
  }

  /** The code of `kind` for `user` now, and what the model knows of it: the step it is good for (if any), or the recovery code. */
  private code(user: ModelUser, kind: CodeKind): { code: string; step: number | null; recovery: string | null } {
    const other = this.users.find((each) => each !== user)!;
    const current = totpStep(this.now);
    const ofStep = (secret: string, step: number) => totpCode(secret, step * STEP_MS);
    /** Whether `code` is a code of the user's secret within the drift now, and for which step. */
    const stepOf = (code: string): number | null => {
      if (user.secret === null) return null;
      for (const step of [current - 1, current, current + 1]) if (ofStep(user.secret, step) === code) return step;
      return null;
    };
    const wrong = () => ['000000', '111111', '222222', '333333'].find((code) => stepOf(code) === null)!;
    switch (kind) {
      case 'current':
      case 'previous':
      case 'next': {
        if (user.secret === null) return { code: wrong(), step: null, recovery: null };
        const code = ofStep(user.secret, current + (kind === 'previous' ? -1 : kind === 'next' ? 1 : 0));
        return { code, step: stepOf(code), recovery: null };
      }
      case 'replayed': {
        const last = user.accepted[user.accepted.length - 1];
        const code = last?.code ?? wrong();
        return { code, step: stepOf(code), recovery: null };
      }
      case 'stale': {
        if (user.secret === null) return { code: wrong(), step: null, recovery: null };
        const code = ofStep(user.secret, current - 3);
        return { code, step: stepOf(code), recovery: null };
      }
      case 'foreign': {
        const code = other.secret === null ? wrong() : ofStep(other.secret, current);
        return { code, step: stepOf(code), recovery: null };
      }
      case 'wrong':
        return { code: wrong(), step: null, recovery: null };
      case 'recovery':
      case 'recovery-respelled': {
        const code = user.recoveryLeft[0];
        if (code === undefined) return { code: 'AAAAA-AAAAA', step: null, recovery: null };
        return { code: kind === 'recovery' ? code : ` ${code.toLowerCase().replace('-', ' ')}`, step: null, recovery: code };
      }
      case 'used-recovery':
        return { code: user.recoveryUsed[0] ?? 'BBBBB-BBBBB', step: null, recovery: null };
      case 'foreign-recovery':
        return { code: other.recoveryLeft[0] ?? other.recoveryUsed[0] ?? 'CCCCC-CCCCC', step: null, recovery: null };
    }
  }

  /** Whether the model says the code passes for the user's confirmed factor now; if so, records it as used. */
  private takes(user: ModelUser, picked: { code: string; step: number | null; recovery: string | null }): boolean {
    if (!user.confirmed) return false;
    if (picked.recovery !== null) {
      user.recoveryLeft = user.recoveryLeft.filter((code) => code !== picked.recovery);
      user.recoveryUsed.push(picked.recovery);
      this.once(`${user.id} ${user.secret} recovery ${picked.recovery}`);
      return true;
    }
    if (picked.step === null || (user.lastStep !== null && picked.step <= user.lastStep)) return false;
    user.lastStep = picked.step;
    user.accepted.push({ code: picked.code, step: picked.step });
    this.once(`${user.id} ${user.secret} step ${picked.step}`);
    return true;
  }

  /** An invariant across the run: nothing the server accepted passes twice. */
  private once(what: string): void {
    if (this.everAccepted.has(what)) throw new Error(`accepted twice: ${what}`);
    this.everAccepted.add(what);
  }

  async step(step: MfaStep): Promise<void> {
    switch (step.do) {
      case 'advance': {
        this.trace.push(`advance ${step.seconds}s`);
        this.t.clock.advanceSeconds(step.seconds);
        return;
      }
      case 'enrol': {
        const user = this.users[step.slot]!;
        this.trace.push(`enrol ${user.label}`);
        const res = await this.http().post('/mfa/totp').set('Authorization', `Bearer ${await this.access(user)}`);
        if (user.confirmed) {
          this.count('enrol refused: already on');
          expect(answer(res)).toEqual({ status: 409, error: 'mfa_already_enabled', issued: false });
          return;
        }
        this.count('enrolled (pending)');
        expect({ status: res.status, shape: totpEnrolmentSchema.safeParse(res.body).success }).toEqual({ status: 200, shape: true });
        user.secret = res.body.secret;
        user.lastStep = null;
        user.accepted = [];
        return;
      }
      case 'confirm': {
        const user = this.users[step.slot]!;
        const picked = this.code(user, step.code);
        this.trace.push(`confirm ${user.label} with a ${step.code} code ${picked.code}`);
        const res = await this.http().post('/mfa/totp/confirm').set('Authorization', `Bearer ${await this.access(user)}`).send({ code: picked.code });
        if (user.confirmed) {
          this.count('confirm refused: already on');
          expect(answer(res)).toEqual({ status: 409, error: 'mfa_already_enabled', issued: false });
        } else if (user.secret === null) {
          this.count('confirm refused: nothing pending');
          expect(answer(res)).toEqual({ status: 400, error: 'invalid_request', issued: false });
        } else if (picked.step !== null && picked.recovery === null) {
          this.count('confirmed');
          expect({ status: res.status, shape: recoveryCodesSchema.safeParse(res.body).success }).toEqual({ status: 200, shape: true });
          user.confirmed = true;
          user.recoveryLeft = [...res.body.recovery_codes];
          user.recoveryUsed = [];
          user.lastStep = picked.step;
          user.accepted = [{ code: picked.code, step: picked.step }];
          this.once(`${user.id} ${user.secret} step ${picked.step}`);
        } else {
          this.count('confirm refused: wrong code');
          expect(answer(res)).toEqual({ status: 401, error: 'invalid_mfa_code', issued: false });
        }
        return;
      }
      case 'login': {
        const user = this.users[step.slot]!;
        this.trace.push(`login ${user.label}`);
        const res = await this.http().post('/login').send({ email: user.email, password: PASSWORD });
        if (!user.confirmed) {
          this.count('login without a second factor');
          expect({ status: res.status, amr: res.status === 200 ? decodeJwt(res.body.access_token).payload.amr : null }).toEqual({ status: 200, amr: ['pwd'] });
          return;
        }
        this.count('login: mfa_required');
        expect({ ...answer(res), expires: res.body.expires_in }).toEqual({ status: 403, error: 'mfa_required', issued: false, expires: 300 });
        const label = `${user.label}.t${this.challenges.filter((each) => each.user === user).length}`;
        this.challenges.push({ label, token: res.body.mfa_token, user, createdAt: this.now, hits: 0, used: false });
        this.trace[this.trace.length - 1] += ` → ${label}`;
        return;
      }
      case 'answer':
        return this.answer(step);
      case 'remove': {
        const user = this.users[step.slot]!;
        const picked = this.code(user, step.code);
        this.trace.push(`remove ${user.label}'s factor with a ${step.code} code ${picked.code}`);
        const res = await this.http().delete('/mfa/totp').set('Authorization', `Bearer ${await this.access(user)}`).send({ code: picked.code });
        if (!user.confirmed) {
          this.count('remove refused: not on');
          expect(answer(res)).toEqual({ status: 404, error: 'not_found', issued: false });
        } else if (this.takes(user, picked)) {
          this.count('removed');
          expect(res.status).toBe(204);
          user.secret = null;
          user.confirmed = false;
          user.lastStep = null;
          user.recoveryLeft = [];
          user.recoveryUsed = [];
          user.accepted = [];
        } else {
          this.count('remove refused: wrong code');
          expect(answer(res)).toEqual({ status: 401, error: 'invalid_mfa_code', issued: false });
        }
        return;
      }
      case 'malformed': {
        const user = this.users[step.slot]!;
        const code = MALFORMED[step.code % MALFORMED.length]!;
        this.trace.push(`a malformed code ${JSON.stringify(code.slice(0, 12))} at ${step.route}`);
        this.count('malformed code');
        const live = this.challenges.find((each) => each.user === user && !each.used);
        const res =
          step.route === 'answer'
            ? await this.http().post('/login/mfa').send({ mfa_token: live?.token ?? 'no-token-yet', code })
            : step.route === 'confirm'
              ? await this.http().post('/mfa/totp/confirm').set('Authorization', `Bearer ${await this.access(user)}`).send({ code })
              : await this.http().delete('/mfa/totp').set('Authorization', `Bearer ${await this.access(user)}`).send({ code });
        expect(answer(res)).toEqual({ status: 400, error: 'invalid_request', issued: false });
      }
    }
  }

  private async answer(step: Extract<MfaStep, { do: 'answer' }>): Promise<void> {
    const user = this.users[step.slot]!;
    const mine = this.challenges.filter((each) => each.user === user);
    const challenge = mine.length === 0 ? null : mine[step.token % mine.length]!;
    const picked = this.code(user, step.code);
    const dead = challenge === null || challenge.used || this.now >= challenge.createdAt + TOKEN_TTL_MS || challenge.hits >= MAX_WRONG;
    // A right code offered with a dead or forged token: left out, since whether it is then spent is not the contract's to say.
    const right = user.confirmed && (picked.recovery !== null || (picked.step !== null && (user.lastStep === null || picked.step > user.lastStep)));
    let token = challenge?.token ?? 'no-token-yet';
    let forged = challenge === null;
    if (step.forgery !== 'none' && challenge !== null) {
      forged = true;
      const other = this.challenges.find((each) => each.user !== user && !each.used);
      token =
        step.forgery === 'mutated'
          ? mutate(challenge.token, MUTATIONS[step.how % MUTATIONS.length]!, step.how)
          : step.forgery === 'foreign-signed'
            ? resign(challenge.token, MFA_FORGERS[step.how % MFA_FORGERS.length]!, { iat: Math.floor(this.now / 1000), exp: Math.floor(this.now / 1000) + 300 }, step.how)
            : `${challenge.token.split('.')[0]}.${Buffer.from(JSON.stringify({ ...decodeJwt(challenge.token).payload, sub: other?.user.id ?? 'nobody' })).toString('base64url')}.${challenge.token.split('.')[2]}`;
    }
    if (right && (dead || forged)) {
      this.trace.push(`(a right code for a dead or forged token of ${user.label}: sent wrong instead)`);
      picked.code = this.code(user, 'wrong').code;
      picked.step = null;
      picked.recovery = null;
    }
    this.trace.push(`answer ${challenge?.label ?? 'no token'}${forged && challenge ? ` (${step.forgery} ${step.how})` : ''} with a ${step.code} code ${picked.code}`);
    const res = await this.http().post('/login/mfa').send({ mfa_token: token, code: picked.code });

    if (forged || challenge === null) {
      this.count('answer refused: forged or no token');
      expect(answer(res)).toEqual({ status: 401, error: 'invalid_grant', issued: false });
      return;
    }
    if (this.now >= challenge.createdAt + TOKEN_TTL_MS) {
      this.count('answer refused: token expired');
      expect(answer(res)).toEqual({ status: 401, error: 'invalid_grant', issued: false });
      return;
    }
    if (challenge.used) {
      // Never a second session. The contract says invalid_grant; the server today checks the code
      // before the token's single use, so a wrong code draws invalid_mfa_code (reported).
      this.count('answer refused: token used');
      expect(answer(res)).toEqual({ status: 401, error: expect.stringMatching(/^(invalid_grant|invalid_mfa_code)$/), issued: false });
      return;
    }
    challenge.hits += 1;
    if (challenge.hits > MAX_WRONG) {
      this.count('answer refused: token void');
      expect(answer(res)).toEqual({ status: 401, error: 'invalid_grant', issued: false });
      return;
    }
    if (this.takes(user, picked)) {
      this.count(picked.recovery !== null ? 'signed in with a recovery code' : `signed in with a ${step.code} code`);
      expect({ status: res.status, shape: tokenResponseSchema.safeParse(res.body).success }).toEqual({ status: 200, shape: true });
      expect({ sub: decodeJwt(res.body.access_token).payload.sub, amr: decodeJwt(res.body.access_token).payload.amr }).toEqual({ sub: user.id, amr: ['pwd', 'otp'] });
      challenge.used = true;
      return;
    }
    this.count(`answer refused: a ${step.code} code`);
    expect(answer(res)).toEqual({ status: 401, error: 'invalid_mfa_code', issued: false });
  }
}

/** Runs `runs` random sequences of `steps` second-factor steps on `t`, each with fresh accounts; a failure names its seed and its last steps. */
export function runMfaFuzz(t: Target, options: { seed: number; runs: number; steps: number; backend: string }): Promise<FuzzResult> {
  return runModelFuzz(mfaStepArbitrary(), options, {
    name: 'second-factor run',
    settingUp: 'registering the accounts',
    world: (run) => new MfaWorld(t, run),
    setUp: (world) => world.setUp(),
    step: (world, step) => world.step(step),
  });
}
