import type { preHandlerAsyncHookHandler } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { baseUrlOf } from '../../http/base-url.js';
import { bearerAuth } from '../../http/openapi.js';
import { noContent } from '../../http/pagination.js';
import { authOf, requireAuth, type Authenticator } from '../auth/auth-hook.js';
import { chatroomParams } from '../chatrooms/chatroom.schemas.js';
import { conversationSchema } from '../messages/message.schemas.js';
import { chatroomShareParams, listSharesQuery, shareParams, sharePageSchema, shareSchema } from './share.schemas.js';
import type { ShareService } from './share.service.js';

type Deps = {
  sessions: Authenticator;
  shares: ShareService;
  publicBaseUrl: string | undefined;
  /** Creating shares is limited per user (30 an hour). */
  createLimit: preHandlerAsyncHookHandler;
};

/** The owner's side of sharing (create, list, revoke) and a reader's fork: all signed in. */
export const shareRoutes =
  ({ sessions, shares, publicBaseUrl, createLimit }: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.addHook('onRequest', requireAuth(sessions));
    const tags = ['shares'];
    const security = bearerAuth;

    app.post(
      '/chatroom/:id/shares',
      {
        schema: {
          summary: "Share a snapshot of the chatroom's current branch (its finished exchanges) as a public read-only link",
          operationId: 'createShare',
          tags,
          security,
          params: chatroomParams,
          response: { 201: shareSchema },
        },
        preHandler: createLimit,
        config: { openapi: { rateLimited: true } },
      },
      async (request, reply) => {
        const share = await shares.create(authOf(request).user.id, request.params.id, baseUrlOf(request, publicBaseUrl));
        return reply.code(201).header('location', `/chatroom/${share.chatroomId}/shares`).send(share);
      },
    );

    app.get(
      '/chatroom/:id/shares',
      {
        schema: {
          summary: "List the chatroom's live shares, newest first",
          operationId: 'listShares',
          tags,
          security,
          params: chatroomParams,
          querystring: listSharesQuery,
          response: { 200: sharePageSchema },
        },
      },
      (request) => shares.list(authOf(request).user.id, request.params.id, request.query.limit, request.query.cursor, baseUrlOf(request, publicBaseUrl)),
    );

    app.delete(
      '/chatroom/:id/shares/:shareId',
      {
        schema: {
          summary: 'Revoke a share: its link answers 404 from now on',
          operationId: 'revokeShare',
          tags,
          security,
          params: chatroomShareParams,
          response: { 204: noContent },
        },
      },
      async (request, reply) => {
        await shares.revoke(authOf(request).user.id, request.params.id, request.params.shareId);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/shares/:shareId/fork',
      {
        schema: {
          summary: 'Continue a shared conversation: a new chatroom of yours with its messages (files copied to you); spends no allowance',
          operationId: 'forkShare',
          tags,
          security,
          params: shareParams,
          response: { 201: conversationSchema },
        },
        config: { problems: [413] },
      },
      async (request, reply) => {
        const forked = await shares.fork(authOf(request).user, request.params.shareId);
        return reply.code(201).header('location', `/chatroom/${forked.id}`).send(forked);
      },
    );
  };
