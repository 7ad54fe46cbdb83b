import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { authOf, requireAuth } from '../../http/auth-hook.js';
import { noContent } from '../../http/pagination.js';
import type { SessionService } from '../auth/session.service.js';
import {
  chatroomPageSchema,
  chatroomParams,
  chatroomSchema,
  createChatroomBody,
  listChatroomsQuery,
  renameChatroomBody,
} from './chatroom.schemas.js';
import type { ChatroomService } from './chatroom.service.js';

type Deps = {
  sessions: Pick<SessionService, 'authenticate'>;
  chatrooms: ChatroomService;
};

export const chatroomRoutes =
  ({ sessions, chatrooms }: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.addHook('onRequest', requireAuth(sessions));
    const tags = ['chatrooms'];
    const security = [{ bearerAuth: [] }];

    app.post(
      '/chatroom',
      { schema: { tags, summary: 'Create a chatroom', operationId: 'createChatroom', security, body: createChatroomBody, response: { 201: chatroomSchema } } },
      async (request, reply) => reply.code(201).send(await chatrooms.create(authOf(request).user.id, request.body?.title)),
    );

    app.get(
      '/chatroom',
      {
        schema: {
          tags,
          summary: 'List my chatrooms, newest first (cached: X-Cache HIT or MISS)',
          operationId: 'listChatrooms',
          security,
          querystring: listChatroomsQuery,
          response: { 200: chatroomPageSchema },
        },
      },
      async (request, reply) => {
        const { page, cache } = await chatrooms.list(authOf(request).user.id, request.query.limit, request.query.cursor);
        return reply.header('x-cache', cache).header('cache-control', 'private, no-cache').send(page);
      },
    );

    // GET /chatroom/:id (a chatroom with its messages) lives with the messages: modules/messages/message.routes.ts.

    app.patch(
      '/chatroom/:id',
      {
        schema: {
          tags,
          summary: 'Rename a chatroom',
          operationId: 'renameChatroom',
          security,
          params: chatroomParams,
          body: renameChatroomBody,
          response: { 200: chatroomSchema },
        },
      },
      (request) => chatrooms.rename(authOf(request).user.id, request.params.id, request.body.title),
    );

    app.delete(
      '/chatroom/:id',
      { schema: { tags, summary: 'Delete a chatroom and its messages', operationId: 'deleteChatroom', security, params: chatroomParams, response: { 204: noContent } } },
      async (request, reply) => {
        await chatrooms.remove(authOf(request).user.id, request.params.id);
        return reply.code(204).send(null);
      },
    );
  };
