// Redis TOTP factors: one hash per user; every check-and-write (confirm, steps, recovery codes) is one Lua script.
import type { MfaFactorRecord, MfaStore } from '../types';
import { guarded, LuaScript, type RedisClient } from './connection';
import type { RedisKeys } from './keys';

/** Replaces a pending factor (fields dropped first, so none of the old one survives); refuses over a confirmed one. */
const PUT_PENDING = new LuaScript(`
-- KEYS: factor. ARGV: the record's field/value pairs.
if redis.call('HGET', KEYS[1], 'confirmed') == '1' then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`);

/**
 * The secret names the enrolment: a first code checked against a secret since replaced confirms
 * nothing. A missing factor reads as false, which is neither '0' nor the secret.
 */
const CONFIRM = new LuaScript(`
-- KEYS: factor. ARGV: secret ciphertext, recovery code hashes (JSON array), step.
local f = redis.call('HMGET', KEYS[1], 'confirmed', 'secretCiphertext')
if f[1] ~= '0' or f[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'confirmed', '1', 'recoveryCodeHashes', ARGV[2], 'lastUsedStep', ARGV[3])
return 1
`);

/** Accepts a step only above the last one used: a code is good once, and never an older one. */
const USE_STEP = new LuaScript(`
-- KEYS: factor. ARGV: step.
local f = redis.call('HMGET', KEYS[1], 'confirmed', 'lastUsedStep')
if f[1] ~= '1' then return 0 end
if f[2] and f[2] ~= '' and tonumber(ARGV[1]) <= tonumber(f[2]) then return 0 end
redis.call('HSET', KEYS[1], 'lastUsedStep', ARGV[1])
return 1
`);

/** Removes one recovery code; cjson writes an empty table as {}, so the last code leaves '[]' by hand. */
const USE_RECOVERY_CODE = new LuaScript(`
-- KEYS: factor. ARGV: code hash.
local f = redis.call('HMGET', KEYS[1], 'confirmed', 'recoveryCodeHashes')
if f[1] ~= '1' then return 0 end
local left, found = {}, false
for _, hash in ipairs(cjson.decode(f[2] or '[]')) do
  if hash == ARGV[1] and not found then found = true else table.insert(left, hash) end
end
if not found then return 0 end
redis.call('HSET', KEYS[1], 'recoveryCodeHashes', #left == 0 and '[]' or cjson.encode(left))
return 1
`);

/** Factors never expire: a pending one stays until replaced, confirmed or deleted. */
export class RedisMfaStore implements MfaStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async get(userId: string): Promise<MfaFactorRecord | null> {
    const fields = await guarded(this.client.hgetall(this.keys.mfa(userId)));
    return Object.keys(fields).length === 0 ? null : fromFields(fields);
  }

  async putPending(factor: MfaFactorRecord): Promise<'stored' | 'already_enabled'> {
    // Whatever the caller passed, what is stored here waits for its first code.
    const stored = await this.script(PUT_PENDING, factor.userId, toFields({ ...factor, confirmed: false }));
    return stored === 1 ? 'stored' : 'already_enabled';
  }

  async confirm(userId: string, secretCiphertext: string, recoveryCodeHashes: readonly string[], step: number): Promise<boolean> {
    return (await this.script(CONFIRM, userId, [secretCiphertext, JSON.stringify(recoveryCodeHashes), step])) === 1;
  }

  async useStep(userId: string, step: number): Promise<boolean> {
    return (await this.script(USE_STEP, userId, [step])) === 1;
  }

  async useRecoveryCode(userId: string, codeHash: string): Promise<boolean> {
    return (await this.script(USE_RECOVERY_CODE, userId, [codeHash])) === 1;
  }

  async delete(userId: string): Promise<boolean> {
    return (await guarded(this.client.del(this.keys.mfa(userId)))) === 1;
  }

  private script(script: LuaScript, userId: string, args: (string | number)[]): Promise<unknown> {
    return guarded(script.run(this.client, [this.keys.mfa(userId)], args));
  }
}

function toFields(factor: MfaFactorRecord): (string | number)[] {
  return [
    'userId', factor.userId,
    'secretCiphertext', factor.secretCiphertext,
    'confirmed', factor.confirmed ? '1' : '0',
    'createdAt', factor.createdAt,
    // A hash has no null: the empty string stands for "no step used yet".
    'lastUsedStep', factor.lastUsedStep ?? '',
    'recoveryCodeHashes', JSON.stringify(factor.recoveryCodeHashes),
  ];
}

function fromFields(fields: Record<string, string>): MfaFactorRecord {
  return {
    userId: fields.userId ?? '',
    secretCiphertext: fields.secretCiphertext ?? '',
    confirmed: fields.confirmed === '1',
    createdAt: Number(fields.createdAt),
    lastUsedStep: fields.lastUsedStep ? Number(fields.lastUsedStep) : null,
    recoveryCodeHashes: JSON.parse(fields.recoveryCodeHashes ?? '[]') as string[],
  };
}
