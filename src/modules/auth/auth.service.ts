import type { z } from 'zod';
import type { Database } from '../../infra/db/client.js';
import type { Clock } from '../../infra/clock.js';
import { AppError, validationError } from '../../http/app-error.js';
import { toUserDto, type UserDto } from '../users/user.presenter.js';
import { findUserByMobile, insertUser, setPasswordHash, type UserRow } from '../users/user.repository.js';
import type { otpIssuedSchema } from './auth.schemas.js';
import type { OtpPurpose } from './otp.repository.js';
import type { OtpSender } from './otp-sender.js';
import { otpInvalid, type OtpService } from './otp.service.js';
import { burnPasswordCheck, hashPassword, verifyPassword } from './password.js';
import type { AuthContext, SessionService, TokenPair } from './session.service.js';

type Deps = {
  database: Pick<Database, 'db' | 'transaction'>;
  otp: OtpService;
  otpSender: OtpSender;
  sessions: SessionService;
  clock: Clock;
};

export interface SignupInput {
  mobile: string;
  name?: string | undefined;
  email?: string | undefined;
  password?: string | undefined;
}

export type OtpIssued = z.infer<typeof otpIssuedSchema>;

export type AuthService = ReturnType<typeof createAuthService>;

export function createAuthService({ database, otp, otpSender, sessions, clock }: Deps) {
  const { db } = database;

  async function requireUser(mobile: string): Promise<UserRow> {
    const user = await findUserByMobile(db, mobile);
    if (!user) throw new AppError('USER_NOT_FOUND', 404, `No user is signed up with mobile '${mobile}'`);
    return user;
  }

  async function sendCode(mobile: string, purpose: OtpPurpose): Promise<OtpIssued> {
    const user = await requireUser(mobile);
    const { code, expiresAt } = await otp.issue(db, user.id, purpose);
    await otpSender.send({ mobile, purpose, code, expiresAt });
    return {
      mobile,
      purpose,
      expiresAt: expiresAt.toISOString(),
      ...(otpSender.revealsCodeInResponse ? { otp: code } : {}),
    };
  }

  /** Sets the password and ends every earlier session, then opens a new one, all or nothing. */
  async function replacePassword(user: UserRow, newPassword: string, reason: string, callerSessionId?: string): Promise<TokenPair> {
    const passwordHash = await hashPassword(newPassword); // outside the transaction: it takes ~50 ms of CPU
    return database.transaction(async (tx) => {
      // Two changes racing on one session: the first ends it, the second must not succeed after it.
      if (callerSessionId !== undefined) await sessions.requireLive(tx, callerSessionId);
      await setPasswordHash(tx, user.id, passwordHash, clock.now());
      await sessions.endAll(tx, user.id, reason);
      return sessions.start(tx, { ...user, passwordHash });
    });
  }

  return {
    async signup(input: SignupInput): Promise<UserDto> {
      const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
      const user = await insertUser(db, {
        mobile: input.mobile,
        name: input.name ?? null,
        email: input.email ?? null,
        passwordHash,
      });
      if (!user) throw new AppError('MOBILE_TAKEN', 409, `Mobile '${input.mobile}' is already signed up; log in instead`);
      return toUserDto({ ...user, tier: 'basic' }); // a new user has no subscription yet
    },

    sendLoginOtp: (mobile: string) => sendCode(mobile, 'login'),
    sendPasswordResetOtp: (mobile: string) => sendCode(mobile, 'password_reset'),

    async verifyLoginOtp(mobile: string, code: string): Promise<TokenPair> {
      const user = await findUserByMobile(db, mobile);
      if (!user) throw otpInvalid();
      // Its own statement, not inside a transaction: a wrong try must stay counted.
      await otp.consume(db, user.id, 'login', code);
      return sessions.start(db, user);
    },

    async login(mobile: string, password: string): Promise<TokenPair> {
      const invalid = new AppError('INVALID_CREDENTIALS', 401, 'The mobile number or password is wrong');
      const user = await findUserByMobile(db, mobile);
      if (!user?.passwordHash) {
        await burnPasswordCheck(password);
        throw invalid;
      }
      if (!(await verifyPassword(user.passwordHash, password))) throw invalid;
      return sessions.start(db, user);
    },

    async resetPassword(mobile: string, code: string, newPassword: string): Promise<TokenPair> {
      const user = await findUserByMobile(db, mobile);
      if (!user) throw otpInvalid();
      await otp.consume(db, user.id, 'password_reset', code);
      return replacePassword(user, newPassword, 'password_reset');
    },

    async changePassword(auth: AuthContext, currentPassword: string | undefined, newPassword: string): Promise<TokenPair> {
      const { user } = auth;
      if (user.passwordHash !== null) {
        if (currentPassword === undefined) throw validationError('currentPassword', 'is required because the account has a password');
        if (!(await verifyPassword(user.passwordHash, currentPassword))) {
          throw new AppError('WRONG_PASSWORD', 403, 'The current password is wrong');
        }
      }
      return replacePassword(user, newPassword, 'password_changed', auth.sessionId);
    },

    logout: (auth: AuthContext) => sessions.end(auth.sessionId, 'logout'),
  };
}
