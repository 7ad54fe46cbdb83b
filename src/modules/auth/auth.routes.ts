import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authOf, requireAuth } from './auth-hook.js';
import { noContent } from '../../http/pagination.js';
import { bearerAuth, noAuth } from '../../http/openapi.js';
import type { AuthRateLimits } from '../../http/rate-limits.js';
import { userSchema } from '../users/user.presenter.js';
import type { AuthService } from './auth.service.js';
import { authSchemas, otpIssuedSchema, tokenPairSchema } from './auth.schemas.js';
import type { SessionService } from './session.service.js';

type Deps = {
  auth: AuthService;
  sessions: Pick<SessionService, 'authenticate' | 'refresh'>;
  limits: AuthRateLimits;
  defaultRegion: string;
};

export const authRoutes =
  ({ auth, sessions, limits, defaultRegion }: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    const schemas = authSchemas(defaultRegion);
    const tags = ['auth'];
    // Per address before the body is even validated; per number once it is (and normalised).
    const limited = { onRequest: limits.perIp, preHandler: limits.perNumber };
    // Code guesses are also bounded over hours and days, whichever route and purpose they come by.
    const guessing = { onRequest: limits.perIp, preHandler: [limits.perNumber, limits.otpGuesses] };
    const security = noAuth;
    // The limits above set the RateLimit header fields on every answer, a 429 with Retry-After past them.
    const rateLimited = { rateLimited: true };

    app.post(
      '/auth/signup',
      {
        schema: {
          tags,
          summary: 'Sign up with a mobile number (answers a code that proves it)',
          operationId: 'signUp',
          security,
          body: schemas.signupBody,
          response: { 201: z.object({ user: userSchema, verification: otpIssuedSchema }) },
        },
        ...limited,
        config: { problems: [409], openapi: rateLimited },
      },
      async (request, reply) => reply.code(201).send(await auth.signup(request.body, request.ip)),
    );

    app.post(
      '/auth/send-otp',
      {
        schema: { tags, summary: 'Send a login code', operationId: 'sendOtp', security, body: schemas.mobileBody, response: { 200: otpIssuedSchema } },
        ...limited,
        config: { problems: [404], openapi: rateLimited },
      },
      (request) => auth.sendLoginOtp(request.body.mobile, request.ip),
    );

    app.post(
      '/auth/verify-otp',
      {
        schema: { tags, summary: 'Verify a code and sign in', operationId: 'verifyOtp', security, body: schemas.verifyOtpBody, response: { 200: tokenPairSchema } },
        ...guessing,
        config: { problems: [401], openapi: rateLimited },
      },
      (request) => auth.verifyOtp(request.body.mobile, request.body.otp, request.ip),
    );

    app.post(
      '/auth/login',
      {
        schema: { tags, summary: 'Log in with a password', operationId: 'logIn', security, body: schemas.loginBody, response: { 200: tokenPairSchema } },
        ...limited,
        config: { problems: [401], openapi: rateLimited },
      },
      (request) => auth.login(request.body.mobile, request.body.password),
    );

    app.post(
      '/auth/forgot-password',
      {
        schema: { tags, summary: 'Send a password reset code', operationId: 'forgotPassword', security, body: schemas.mobileBody, response: { 200: otpIssuedSchema } },
        ...limited,
        config: { problems: [404], openapi: rateLimited },
      },
      (request) => auth.sendPasswordResetOtp(request.body.mobile, request.ip),
    );

    app.post(
      '/auth/reset-password',
      {
        schema: { tags, summary: 'Set a new password with a reset code', operationId: 'resetPassword', security, body: schemas.resetPasswordBody, response: { 200: tokenPairSchema } },
        ...guessing,
        config: { problems: [401], openapi: rateLimited },
      },
      (request) => auth.resetPassword(request.body.mobile, request.body.otp, request.body.newPassword, request.ip),
    );

    app.post(
      '/auth/refresh',
      {
        schema: { tags, summary: 'Trade a refresh token for a new token pair', operationId: 'refreshTokens', security, body: schemas.refreshBody, response: { 200: tokenPairSchema } },
        onRequest: limits.perIp,
        config: { problems: [401], openapi: rateLimited },
      },
      (request) => sessions.refresh(request.body.refreshToken),
    );

    const secured = { onRequest: requireAuth(sessions) };

    app.post(
      '/auth/change-password',
      {
        schema: {
          tags,
          summary: 'Set or change the password (ends every other session)',
          operationId: 'changePassword',
          security: bearerAuth,
          body: schemas.changePasswordBody,
          response: { 200: tokenPairSchema },
        },
        ...secured,
        config: { problems: [403] },
      },
      (request) => auth.changePassword(authOf(request), request.body.currentPassword, request.body.newPassword),
    );

    app.post(
      '/auth/logout',
      { schema: { tags, summary: 'End this session', operationId: 'logOut', security: bearerAuth, response: { 204: noContent } }, ...secured },
      async (request, reply) => {
        await auth.logout(authOf(request));
        return reply.code(204).send(null);
      },
    );
  };
