import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { authOf, requireAuth } from '../../http/auth-hook.js';
import type { SessionService } from '../auth/session.service.js';
import { toUserDto, userSchema } from './user.presenter.js';

export const userRoutes =
  ({ sessions }: { sessions: Pick<SessionService, 'authenticate'> }): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/user/me',
      {
        schema: { tags: ['users'], summary: 'The signed-in user', operationId: 'getMe', security: [{ bearerAuth: [] }], response: { 200: userSchema } },
        onRequest: requireAuth(sessions),
      },
      (request) => toUserDto(authOf(request).user),
    );
  };
