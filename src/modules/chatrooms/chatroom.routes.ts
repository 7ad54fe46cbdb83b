import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { bearerAuth } from '../../http/openapi.js';
import { authOf, requireAuth } from '../auth/auth-hook.js';
import { sendJsonText } from '../../http/json-text.js';
import { noContent } from '../../http/pagination.js';
import type { SessionService } from '../auth/session.service.js';
import {
  chatroomPageSchema,
  chatroomParams,
  chatroomSchema,
  createChatroomBody,
  listChatroomsQuery,
  modelListSchema,
  updateChatroomBody,
} from './chatroom.schemas.js';
import type { ChatroomService } from './chatroom.service.js';

type Deps = {
  sessions: Pick<SessionService, 'authenticate'>;
  chatrooms: ChatroomService;
  /** The models a chatroom may choose, the default first. */
  models: readonly string[];
};

export const chatroomRoutes =
  ({ sessions, chatrooms, models }: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.addHook('onRequest', requireAuth(sessions));
    const tags = ['chatrooms'];
    const security = bearerAuth;

    app.post(
      '/chatroom',
      {
        schema: {
          summary: 'Create a chatroom, optionally with a title and settings',
          operationId: 'createChatroom',
          tags,
          security,
          body: createChatroomBody(models),
          response: { 201: chatroomSchema },
          description: 'The body is optional: none at all makes a "New chat" with the server\'s default settings.',
        },
        config: { openapi: { responses: { 201: { description: 'The new chatroom' } } } },
      },
      async (request, reply) => reply.code(201).send(await chatrooms.create(authOf(request).user.id, request.body ?? {})),
    );

    app.get(
      '/chatroom',
      {
        schema: {
          summary: "List the user's chatrooms, newest first (cached)",
          operationId: 'listChatrooms',
          tags,
          security,
          querystring: listChatroomsQuery,
          response: { 200: chatroomPageSchema },
        },
        config: { openapi: { responses: { 200: { description: 'A page of chatrooms, newest first', headers: ['X-Cache'] } } } },
      },
      async (request, reply) => {
        const { json, cache } = await chatrooms.listJson(authOf(request).user.id, request.query.limit, request.query.cursor);
        return sendJsonText(reply.header('x-cache', cache).header('cache-control', 'private, no-cache'), json);
      },
    );

    // GET /chatroom/:id (a chatroom with its messages) lives with the messages: modules/messages/message.routes.ts.

    app.patch(
      '/chatroom/:id',
      {
        schema: {
          summary: 'Rename a chatroom and/or change its settings (any subset; null = server default)',
          operationId: 'updateChatroom',
          tags,
          security,
          params: chatroomParams,
          body: updateChatroomBody(models),
          response: { 200: chatroomSchema },
        },
      },
      (request) => chatrooms.update(authOf(request).user.id, request.params.id, request.body),
    );

    app.delete(
      '/chatroom/:id',
      {
        schema: {
          summary: 'Delete a chatroom with its messages (stops its generations)',
          operationId: 'deleteChatroom',
          tags,
          security,
          params: chatroomParams,
          response: { 204: noContent },
        },
      },
      async (request, reply) => {
        await chatrooms.remove(authOf(request).user.id, request.params.id);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/models',
      {
        schema: {
          summary: 'The models a chatroom may choose',
          operationId: 'listModels',
          tags: ['models'],
          security,
          response: { 200: modelListSchema },
        },
      },
      () => ({ items: models.map((id, index) => ({ id, default: index === 0 })) }),
    );
  };
