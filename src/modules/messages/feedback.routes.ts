import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { bearerAuth } from '../../http/openapi.js';
import { noContent } from '../../http/pagination.js';
import { authOf, requireAuth, type Authenticator } from '../auth/auth-hook.js';
import type { FeedbackService } from './feedback.service.js';
import { feedbackBody, messageSchema, replyParams } from './message.schemas.js';

type Deps = {
  sessions: Authenticator;
  feedback: FeedbackService;
};

export const feedbackRoutes =
  ({ sessions, feedback }: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.addHook('onRequest', requireAuth(sessions));
    const tags = ['messages'];
    const security = bearerAuth;

    app.put(
      '/chatroom/:id/messages/:replyId/feedback',
      {
        schema: {
          summary: 'Rate a finished reply (thumbs up or down, an optional reason and comment)',
          operationId: 'rateReply',
          tags,
          security,
          params: replyParams,
          body: feedbackBody,
          response: { 200: messageSchema },
          description:
            'One rating per reply, replaced by the next. A prompt or a reply still being generated is `400 VALIDATION_FAILED`. The rating is shown to its owner only (and in their JSON export).',
        },
      },
      (request) => {
        const { rating, reason = null, comment = null } = request.body;
        return feedback.rate(authOf(request).user.id, request.params.id, request.params.replyId, {
          rating,
          reason,
          comment: comment === '' ? null : comment,
        });
      },
    );

    app.delete(
      '/chatroom/:id/messages/:replyId/feedback',
      {
        schema: {
          summary: 'Take back the rating of a reply',
          operationId: 'deleteReplyFeedback',
          tags,
          security,
          params: replyParams,
          response: { 204: noContent },
        },
      },
      async (request, reply) => {
        await feedback.withdraw(authOf(request).user.id, request.params.id, request.params.replyId);
        return reply.code(204).send(null);
      },
    );
  };
