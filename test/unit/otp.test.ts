import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/http/app-error.js';
import type { Executor } from '../../src/infra/db/client.js';
import { createOtpService, OTP_MAX_ATTEMPTS, OTP_RESEND_COOLDOWN_SECONDS, OTP_TTL_SECONDS } from '../../src/modules/auth/otp.service.js';
import { TestClock } from '../helpers/clock.js';
import { memoryOtpStore } from './fakes/otp-store.js';

/*
 * The one-time code rules (API.md "Authentication"), over an in-memory store and a clock the test
 * moves: how long a code lives, how many tries it has, who can spend them, and what a resend does.
 */

const db = {} as Executor; // the in-memory store never touches it
const HOME = '203.0.113.7';
const STRANGER = '198.51.100.9';

function setUp(otpKey = randomBytes(32)) {
  const clock = new TestClock(Date.UTC(2026, 0, 15, 12));
  const store = memoryOtpStore();
  const otp = createOtpService({ otpKey, clock, store });
  return { clock, store, otp, userId: randomUUID() };
}

const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error;
}

describe('OTP codes', () => {
  it('are six digits and live five minutes from the moment they are issued', async () => {
    const { otp, clock, userId } = setUp();
    const issued = await otp.issue(db, userId, 'login', HOME);
    expect(issued.code).toMatch(/^\d{6}$/);
    expect(issued.expiresAt.getTime() - clock.now().getTime()).toBe(OTP_TTL_SECONDS * 1000);
  });

  it('are stored as a keyed hash, never as the code', async () => {
    const { otp, store, userId } = setUp();
    const { code } = await otp.issue(db, userId, 'login', HOME);
    const [row] = store.rows;
    expect(row?.codeHash).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.codeHash).not.toContain(code);
    expect(row?.requestedFrom).not.toContain(HOME);
  });

  it('verify once: the right code is accepted, and the same code again is invalid', async () => {
    const { otp, userId } = setUp();
    const { code } = await otp.issue(db, userId, 'login', HOME);
    await expect(otp.consume(db, userId, ['login'], code, HOME)).resolves.toMatchObject({ userId, purpose: 'login' });
    expect(await rejection(otp.consume(db, userId, ['login'], code, HOME))).toMatchObject({ code: 'OTP_INVALID', status: 401 });
  });

  it('refuse a wrong code with 401 OTP_INVALID', async () => {
    const { otp, userId } = setUp();
    const { code } = await otp.issue(db, userId, 'login', HOME);
    expect(await rejection(otp.consume(db, userId, ['login'], wrong(code), HOME))).toMatchObject({ code: 'OTP_INVALID', status: 401 });
  });

  it('work up to the last millisecond of their five minutes, and are OTP_EXPIRED from then on', async () => {
    const early = setUp();
    const first = await early.otp.issue(db, early.userId, 'login', HOME);
    early.clock.advance(OTP_TTL_SECONDS * 1000 - 1);
    await expect(early.otp.consume(db, early.userId, ['login'], first.code, HOME)).resolves.toBeDefined();

    const late = setUp();
    const second = await late.otp.issue(db, late.userId, 'login', HOME);
    late.clock.advance(OTP_TTL_SECONDS * 1000);
    expect(await rejection(late.otp.consume(db, late.userId, ['login'], second.code, HOME))).toMatchObject({ code: 'OTP_EXPIRED', status: 401 });
  });

  it(`allow ${OTP_MAX_ATTEMPTS} tries: the last wrong one is 429 OTP_ATTEMPTS_EXCEEDED, and then even the right code is refused`, async () => {
    const { otp, userId } = setUp();
    const { code } = await otp.issue(db, userId, 'login', HOME);
    for (let attempt = 1; attempt < OTP_MAX_ATTEMPTS; attempt++) {
      expect((await rejection(otp.consume(db, userId, ['login'], wrong(code), HOME))).code).toBe('OTP_INVALID');
    }
    expect(await rejection(otp.consume(db, userId, ['login'], wrong(code), HOME))).toMatchObject({ code: 'OTP_ATTEMPTS_EXCEEDED', status: 429 });
    expect((await rejection(otp.consume(db, userId, ['login'], code, HOME))).code).toBe('OTP_ATTEMPTS_EXCEEDED');
  });

  it('give the tries back with a new code: a resend after the cooldown starts over', async () => {
    const { otp, clock, userId } = setUp();
    const { code } = await otp.issue(db, userId, 'login', HOME);
    for (let attempt = 0; attempt < OTP_MAX_ATTEMPTS; attempt++) await rejection(otp.consume(db, userId, ['login'], wrong(code), HOME));
    clock.advance(OTP_RESEND_COOLDOWN_SECONDS * 1000);
    const fresh = await otp.issue(db, userId, 'login', HOME);
    await expect(otp.consume(db, userId, ['login'], fresh.code, HOME)).resolves.toBeDefined();
  });

  it('refuse a resend within 30 s with 429 OTP_COOLDOWN and a Retry-After of the seconds left', async () => {
    const { otp, clock, userId } = setUp();
    await otp.issue(db, userId, 'login', HOME);
    clock.advance(10_500);
    const error = await rejection(otp.issue(db, userId, 'login', HOME));
    expect(error).toMatchObject({ code: 'OTP_COOLDOWN', status: 429 });
    expect(error.options.headers).toEqual({ 'retry-after': '20' });
    clock.advance(OTP_RESEND_COOLDOWN_SECONDS * 1000 - 10_500);
    await expect(otp.issue(db, userId, 'login', HOME)).resolves.toBeDefined();
  });

  it('are replaced by a resend: the earlier code of that address stops working', async () => {
    const { otp, clock, userId } = setUp();
    const first = await otp.issue(db, userId, 'login', HOME);
    clock.advance(OTP_RESEND_COOLDOWN_SECONDS * 1000);
    const second = await otp.issue(db, userId, 'login', HOME);
    expect((await rejection(otp.consume(db, userId, ['login'], first.code, HOME))).code).toBe('OTP_INVALID');
    await expect(otp.consume(db, userId, ['login'], second.code, HOME)).resolves.toBeDefined();
  });

  it('work from another address than the one that asked (a phone that changed networks)', async () => {
    const { otp, userId } = setUp();
    const { code } = await otp.issue(db, userId, 'login', HOME);
    await expect(otp.consume(db, userId, ['login'], code, STRANGER)).resolves.toBeDefined();
  });

  it("cannot be locked by a stranger: neither their resend nor their wrong guesses touch the owner's code", async () => {
    const { otp, userId } = setUp();
    const { code } = await otp.issue(db, userId, 'login', HOME);
    await otp.issue(db, userId, 'login', STRANGER); // no cooldown for them, and the owner's code stays
    for (let attempt = 0; attempt < OTP_MAX_ATTEMPTS + 3; attempt++) await rejection(otp.consume(db, userId, ['login'], wrong(code), STRANGER));
    await expect(otp.consume(db, userId, ['login'], code, HOME)).resolves.toBeDefined();
  });

  it('spend the other codes of the user once one is used', async () => {
    const { otp, userId } = setUp();
    const mine = await otp.issue(db, userId, 'login', HOME);
    const other = await otp.issue(db, userId, 'login', STRANGER);
    await otp.consume(db, userId, ['login'], mine.code, HOME);
    expect((await rejection(otp.consume(db, userId, ['login'], other.code, STRANGER))).code).toBe('OTP_INVALID');
  });

  it('are live three at a time: a fourth address pushes the oldest code out', async () => {
    const { otp, clock, userId } = setUp();
    const codes = [];
    for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']) {
      codes.push((await otp.issue(db, userId, 'login', address)).code);
      clock.advance(1_000);
    }
    const [oldest, , , newest] = codes as [string, string, string, string];
    // Only the oldest is gone; a guess from a fifth address is compared with the three live ones.
    if (oldest !== newest) expect((await rejection(otp.consume(db, userId, ['login'], oldest, '10.0.0.5'))).code).toBe('OTP_INVALID');
    await expect(otp.consume(db, userId, ['login'], newest, '10.0.0.5')).resolves.toBeDefined();
  });

  it('serve one purpose and one user: a login code neither resets a password nor signs in someone else', async () => {
    const { otp, store, clock, userId } = setUp();
    const { code } = await otp.issue(db, userId, 'login', HOME);
    expect((await rejection(otp.consume(db, userId, ['password_reset'], code, HOME))).code).toBe('OTP_INVALID');
    // Another user sent the very same six digits (their row made to hold this hash): the hash covers the user.
    const other = randomUUID();
    clock.advance(1);
    await otp.issue(db, other, 'login', HOME);
    store.rows.find((row) => row.userId === other)!.codeHash = store.rows.find((row) => row.userId === userId)!.codeHash;
    expect((await rejection(otp.consume(db, other, ['login'], code, HOME))).code).toBe('OTP_INVALID');
  });

  it('are bound to the server key: a code issued under one key does not verify under another', async () => {
    const first = setUp();
    const { code } = await first.otp.issue(db, first.userId, 'login', HOME);
    const rotated = createOtpService({ otpKey: randomBytes(32), clock: first.clock, store: first.store });
    expect((await rejection(rotated.consume(db, first.userId, ['login'], code, HOME))).code).toBe('OTP_INVALID');
  });

  it('carry the details given at signup until the code is used, and return them once', async () => {
    const { otp, store, userId } = setUp();
    const { code } = await otp.issue(db, userId, 'signup', HOME, { passwordHash: '$argon2id$x', email: 'ada@example.com' });
    const used = await otp.consume(db, userId, ['signup', 'login'], code, HOME);
    expect(used).toMatchObject({ purpose: 'signup', pendingPasswordHash: '$argon2id$x', pendingEmail: 'ada@example.com' });
    expect(store.rows[0]).toMatchObject({ pendingPasswordHash: null, pendingEmail: null });
  });
});
