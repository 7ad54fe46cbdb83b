import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { bearerAuth } from '../../http/openapi.js';
import { authOf, requireAuth, type Authenticator } from './auth-hook.js';
import { toUserDto, userSchema } from '../users/user.presenter.js';

export const userRoutes =
  ({ sessions }: { sessions: Authenticator }): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/user/me',
      {
        schema: { tags: ['users'], summary: 'The signed-in user', operationId: 'getMe', security: bearerAuth, response: { 200: userSchema } },
        onRequest: requireAuth(sessions),
      },
      (request) => toUserDto(authOf(request).user),
    );
  };
