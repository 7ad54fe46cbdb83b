import type { Executor } from '../../infra/db/client.js';
import type { Clock } from '../../infra/clock.js';
import { AppError } from '../../http/app-error.js';
import { constantTimeEqualHex, generateOtp, hashOtp } from './secrets.js';
import {
  claimOtpAttempt,
  consumeOtp,
  findOtp,
  replaceOtpUnlessCoolingDown,
  type OtpPurpose,
} from './otp.repository.js';

export const OTP_TTL_SECONDS = 5 * 60;
export const OTP_RESEND_COOLDOWN_SECONDS = 30;
export const OTP_MAX_ATTEMPTS = 5;

type Deps = { otpKey: Buffer; clock: Clock };

export type OtpService = ReturnType<typeof createOtpService>;

export function createOtpService({ otpKey, clock }: Deps) {
  // The hash covers user and purpose: a login code can never reset a password, nor serve another user.
  const hashFor = (userId: string, purpose: OtpPurpose, code: string) => hashOtp(otpKey, `${userId}:${purpose}`, code);

  return {
    /** A fresh code for the user, replacing any earlier one; 429 OTP_COOLDOWN within 30 s of the last. */
    async issue(db: Executor, userId: string, purpose: OtpPurpose): Promise<{ code: string; expiresAt: Date }> {
      const now = clock.now();
      const code = generateOtp();
      const expiresAt = new Date(now.getTime() + OTP_TTL_SECONDS * 1000);
      const cooldownCutoff = new Date(now.getTime() - OTP_RESEND_COOLDOWN_SECONDS * 1000);
      const replaced = await replaceOtpUnlessCoolingDown(
        db,
        { userId, purpose, codeHash: hashFor(userId, purpose, code), sentAt: now, expiresAt },
        cooldownCutoff,
      );
      if (!replaced) {
        const current = await findOtp(db, userId, purpose);
        const readyAt = (current?.sentAt.getTime() ?? now.getTime()) + OTP_RESEND_COOLDOWN_SECONDS * 1000;
        const retryAfter = Math.max(1, Math.ceil((readyAt - now.getTime()) / 1000));
        throw new AppError('OTP_COOLDOWN', 429, `A code was sent moments ago; ask again in ${retryAfter} s`, {
          headers: { 'retry-after': String(retryAfter) },
        });
      }
      return { code, expiresAt };
    },

    /** Uses the code up, or throws the reason it cannot be used. Each try counts, right or wrong. */
    async consume(db: Executor, userId: string, purpose: OtpPurpose, code: string): Promise<void> {
      const invalid = otpInvalid();
      const now = clock.now();
      const attempt = await claimOtpAttempt(db, userId, purpose, OTP_MAX_ATTEMPTS, now);
      if (!attempt) throw await whyUnusable(db, userId, purpose, now, invalid);
      if (!constantTimeEqualHex(attempt.codeHash, hashFor(userId, purpose, code))) {
        throw attempt.attempts >= OTP_MAX_ATTEMPTS ? attemptsExceeded() : invalid;
      }
      if (!(await consumeOtp(db, attempt.id, now))) throw invalid;
    },
  };
}

export const otpInvalid = () => new AppError('OTP_INVALID', 401, 'The code is not valid for this number');

const attemptsExceeded = () =>
  new AppError('OTP_ATTEMPTS_EXCEEDED', 429, `Too many wrong codes (${OTP_MAX_ATTEMPTS}); request a new code`);

async function whyUnusable(db: Executor, userId: string, purpose: OtpPurpose, now: Date, invalid: AppError) {
  const otp = await findOtp(db, userId, purpose);
  if (!otp || otp.consumedAt !== null) return invalid;
  if (otp.expiresAt <= now) return new AppError('OTP_EXPIRED', 401, 'The code has expired; request a new one');
  if (otp.attempts >= OTP_MAX_ATTEMPTS) return attemptsExceeded();
  return invalid;
}
