import type { Executor } from '../../infra/db/client.js';
import type { Clock } from '../../infra/clock.js';
import { AppError } from '../../http/app-error.js';
import { constantTimeEqualHex, generateOtp, hashOtp } from './secrets.js';
import * as otpRepository from './otp.repository.js';
import type { OtpPurpose, OtpRow } from './otp.repository.js';

export const OTP_TTL_SECONDS = 5 * 60;
export const OTP_RESEND_COOLDOWN_SECONDS = 30;
export const OTP_MAX_ATTEMPTS = 5;
/** Live codes per user and purpose (from as many addresses): what one guess is compared with, at most. */
export const OTP_MAX_LIVE_CODES = 3;

/** The statements the service runs, one function each (otp.repository.ts); the unit tests pass an in-memory store. */
export type OtpStore = Pick<
  typeof otpRepository,
  'claimOtpAttempts' | 'consumeOtherOtps' | 'consumeOtp' | 'findOtherLiveOtps' | 'findOtpOf' | 'findOtpsOf' | 'replaceOtpUnlessCoolingDown' | 'trimLiveOtps'
>;

type Deps = { otpKey: Buffer; clock: Clock; store?: OtpStore };

/** What a signup code carries until it is verified: the details whoever signed up gave. */
export interface PendingSignup {
  passwordHash: string | null;
  email: string | null;
}

export type OtpService = ReturnType<typeof createOtpService>;

/*
 * Codes belong to the address that asked for them (a keyed hash of it), so that a stranger cannot
 * lock the owner out: a resend from the stranger's address replaces only the stranger's code, and
 * the stranger's wrong guesses spend only the tries of the stranger's code. A code still works from
 * any address (phones change networks). Guesses over hours and days are bounded per number and per
 * number and address by the rate limiter (http/rate-limits.ts); at most OTP_MAX_LIVE_CODES codes
 * are live at once, which bounds what one guess can hit.
 */
export function createOtpService({ otpKey, clock, store = otpRepository }: Deps) {
  const { claimOtpAttempts, consumeOtherOtps, consumeOtp, findOtherLiveOtps, findOtpOf, findOtpsOf, replaceOtpUnlessCoolingDown, trimLiveOtps } = store;
  // The hash covers user and purpose: a login code can never reset a password, nor serve another user.
  const hashFor = (userId: string, purpose: OtpPurpose, code: string) => hashOtp(otpKey, `${userId}:${purpose}`, code);
  const addressKey = (address: string) => hashOtp(otpKey, 'requested-from', address).slice(0, 32);

  return {
    /** A fresh code for the user, replacing this address's earlier one; 429 OTP_COOLDOWN within 30 s of it. */
    async issue(
      db: Executor,
      userId: string,
      purpose: OtpPurpose,
      address: string,
      pending: PendingSignup = { passwordHash: null, email: null },
    ): Promise<{ code: string; expiresAt: Date }> {
      const now = clock.now();
      const code = generateOtp();
      const requestedFrom = addressKey(address);
      const expiresAt = new Date(now.getTime() + OTP_TTL_SECONDS * 1000);
      const cooldownCutoff = new Date(now.getTime() - OTP_RESEND_COOLDOWN_SECONDS * 1000);
      const replaced = await replaceOtpUnlessCoolingDown(
        db,
        {
          userId,
          purpose,
          requestedFrom,
          codeHash: hashFor(userId, purpose, code),
          sentAt: now,
          expiresAt,
          pendingPasswordHash: pending.passwordHash,
          pendingEmail: pending.email,
        },
        cooldownCutoff,
      );
      if (!replaced) {
        const current = await findOtpOf(db, userId, purpose, requestedFrom);
        const readyAt = (current?.sentAt.getTime() ?? now.getTime()) + OTP_RESEND_COOLDOWN_SECONDS * 1000;
        const retryAfter = Math.max(1, Math.ceil((readyAt - now.getTime()) / 1000));
        throw new AppError('OTP_COOLDOWN', 429, `A code was sent moments ago; ask again in ${retryAfter} s`, {
          headers: { 'retry-after': String(retryAfter) },
        });
      }
      await trimLiveOtps(db, userId, purpose, OTP_MAX_LIVE_CODES, now);
      return { code, expiresAt };
    },

    /**
     * Uses a code of one of the purposes up and returns it, or throws why it cannot be used. Each try
     * from an address that holds a code counts against that code, right or wrong. Using a code spends
     * the user's other codes of those purposes.
     */
    async consume(db: Executor, userId: string, purposes: OtpPurpose[], code: string, address: string): Promise<OtpRow> {
      const invalid = otpInvalid();
      const now = clock.now();
      const requestedFrom = addressKey(address);
      const claimed = await claimOtpAttempts(db, userId, purposes, requestedFrom, OTP_MAX_ATTEMPTS, now);
      const own = claimed.length > 0 ? [] : await findOtpsOf(db, userId, purposes, requestedFrom);
      const isLive = (row: OtpRow) => row.consumedAt === null && row.expiresAt > now;
      // This address burnt its code's tries: it gets nothing more until it asks for a new code.
      if (own.some((row) => isLive(row) && row.attempts >= OTP_MAX_ATTEMPTS)) throw attemptsExceeded();

      const others = await findOtherLiveOtps(db, userId, purposes, requestedFrom, OTP_MAX_ATTEMPTS, now);
      const match = [...claimed, ...others].find((row) => constantTimeEqualHex(row.codeHash, hashFor(userId, row.purpose, code)));
      if (match) {
        if (!(await consumeOtp(db, match.id, now))) throw invalid;
        await consumeOtherOtps(db, userId, purposes, now);
        return match;
      }
      if (claimed.length > 0 && claimed.every((row) => row.attempts >= OTP_MAX_ATTEMPTS)) throw attemptsExceeded();
      const expiredHere = own.some((row) => row.consumedAt === null && row.expiresAt <= now);
      if (claimed.length === 0 && others.length === 0 && expiredHere) {
        throw new AppError('OTP_EXPIRED', 401, 'The code has expired; request a new one');
      }
      throw invalid;
    },
  };
}

export const otpInvalid = () => new AppError('OTP_INVALID', 401, 'The code is not valid for this number');

const attemptsExceeded = () =>
  new AppError('OTP_ATTEMPTS_EXCEEDED', 429, `Too many wrong codes (${OTP_MAX_ATTEMPTS}); request a new code`);
