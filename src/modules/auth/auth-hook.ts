import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { AppError } from '../../http/app-error.js';
import type { AuthContext, SessionService } from './session.service.js';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null;
  }
}

/** What a protected route needs of the sessions: named here so a route's module need not import auth's. */
export type Authenticator = Pick<SessionService, 'authenticate'>;

/** onRequest hook for protected routes: a valid, unrevoked access token or 401. */
export const requireAuth =
  (sessions: Authenticator): onRequestHookHandler =>
  async (request: FastifyRequest, _reply: FastifyReply) => {
    request.auth = await sessions.authenticate(request.headers.authorization);
  };

/** The caller of a protected route; the hook guarantees it is there. */
export function authOf(request: FastifyRequest): AuthContext {
  if (!request.auth) throw new AppError('UNAUTHORIZED', 401, 'This route needs an access token');
  return request.auth;
}
