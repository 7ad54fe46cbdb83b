import type { z } from 'zod';
import type { Database, Executor } from '../../infra/db/client.js';
import type { Clock } from '../../infra/clock.js';
import { AppError, validationError } from '../../http/app-error.js';
import { toUserDto, type UserDto } from '../users/user.presenter.js';
import {
  findUserById,
  findUserByMobile,
  insertUser,
  proveMobile,
  restartSignup,
  setPasswordHash,
  type UserRow,
} from '../users/user.repository.js';
import type { otpIssuedSchema } from './auth.schemas.js';
import type { OtpPurpose, OtpRow } from './otp.repository.js';
import type { OtpSender } from './otp-sender.js';
import { otpInvalid, type OtpService, type PendingSignup } from './otp.service.js';
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

  async function sendCode(user: UserRow, purpose: OtpPurpose, address: string, pending?: PendingSignup): Promise<OtpIssued> {
    const { code, expiresAt } = await otp.issue(db, user.id, purpose, address, pending);
    await otpSender.send({ mobile: user.mobile, purpose, code, expiresAt });
    return {
      mobile: user.mobile,
      purpose,
      expiresAt: expiresAt.toISOString(),
      ...(otpSender.revealsCodeInResponse ? { otp: code } : {}),
    };
  }

  /**
   * The first verified code proves the number. A signup code brings the password and email given
   * with it; any other code proves that whoever set those never proved the number: they are dropped.
   */
  async function proveIfFirst(tx: Executor, user: UserRow, used: OtpRow): Promise<UserRow> {
    if (user.mobileVerifiedAt !== null) return user;
    const details =
      used.purpose === 'signup'
        ? { passwordHash: used.pendingPasswordHash, email: used.pendingEmail }
        : { passwordHash: null, email: null };
    return (await proveMobile(tx, user.id, details, clock.now())) ?? (await findUserById(tx, user.id)) ?? user;
  }

  /** Sets the password and ends every earlier session, then opens a new one, all or nothing. */
  async function replacePassword(user: UserRow, newPassword: string, reason: string, callerSessionId?: string): Promise<TokenPair> {
    const passwordHash = await hashPassword(newPassword); // outside the transaction: it takes ~50 ms of CPU
    const pair = await database.transaction(async (tx) => {
      // Two changes racing on one session: the first ends it, the second must not succeed after it.
      if (callerSessionId !== undefined) await sessions.requireLive(tx, callerSessionId);
      await setPasswordHash(tx, user.id, passwordHash, clock.now());
      await sessions.endAll(tx, user.id, reason);
      return sessions.start(tx, { ...user, passwordHash });
    });
    await sessions.accountChanged(user.id); // committed: every process drops the ended sessions
    return pair;
  }

  return {
    /**
     * Registers the number, unproved: the answer carries a signup code, and the password and email
     * take effect only when that code is verified. A number nobody proved yet can be signed up again
     * (the registration starts over); a proved one is 409.
     */
    async signup(input: SignupInput, address: string): Promise<{ user: UserDto; verification: OtpIssued }> {
      const taken = () => new AppError('MOBILE_TAKEN', 409, `Mobile '${input.mobile}' is already signed up; log in instead`);
      const existing = await findUserByMobile(db, input.mobile);
      if (existing?.mobileVerifiedAt) throw taken();
      const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
      const now = clock.now();
      let user = existing ? undefined : await insertUser(db, { mobile: input.mobile, name: input.name ?? null });
      // Signing up again, or losing a race to a first signup (the unique index lets one insert): start over.
      user ??= await restartSignup(db, (existing ?? (await requireUser(input.mobile))).id, input.name ?? null, now);
      if (!user) throw taken(); // proved in the meantime
      const verification = await sendCode(user, 'signup', address, { passwordHash, email: input.email ?? null });
      return { user: toUserDto({ ...user, tier: 'basic' }), verification }; // a new user has no subscription yet
    },

    sendLoginOtp: async (mobile: string, address: string) => sendCode(await requireUser(mobile), 'login', address),
    sendPasswordResetOtp: async (mobile: string, address: string) => sendCode(await requireUser(mobile), 'password_reset', address),

    /** Signup and login codes alike open a session; the first one verified proves the number. */
    async verifyOtp(mobile: string, code: string, address: string): Promise<TokenPair> {
      const user = await findUserByMobile(db, mobile);
      if (!user) throw otpInvalid();
      // Its own statement, not inside a transaction: a wrong try must stay counted.
      const used = await otp.consume(db, user.id, ['signup', 'login'], code, address);
      return database.transaction(async (tx) => sessions.start(tx, await proveIfFirst(tx, user, used)));
    },

    async login(mobile: string, password: string): Promise<TokenPair> {
      const invalid = new AppError('INVALID_CREDENTIALS', 401, 'The mobile number or password is wrong');
      const user = await findUserByMobile(db, mobile);
      // No password login before the number is proved: it could be anyone's password.
      if (!user?.passwordHash || user.mobileVerifiedAt === null) {
        await burnPasswordCheck(password);
        throw invalid;
      }
      if (!(await verifyPassword(user.passwordHash, password))) throw invalid;
      return sessions.start(db, user);
    },

    async resetPassword(mobile: string, code: string, newPassword: string, address: string): Promise<TokenPair> {
      const user = await findUserByMobile(db, mobile);
      if (!user) throw otpInvalid();
      const used = await otp.consume(db, user.id, ['password_reset'], code, address);
      // A reset code proves the number too (signup details, if any, are dropped: the new password wins).
      const proved = await database.transaction((tx) => proveIfFirst(tx, user, used));
      return replacePassword(proved, newPassword, 'password_reset');
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
