import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../infra/clock.js';
import type { ReplyStream } from '../../infra/reply-stream.js';
import { AppError } from '../../http/app-error.js';
import { authOf, requireAuth } from '../../http/auth-hook.js';
import { eventStreams, wantsEventStream, type EventStreamWriter } from '../../http/sse.js';
import type { SessionService } from '../auth/session.service.js';
import { allowanceHeaders } from '../billing/allowance-headers.js';
import { chatroomParams } from '../chatrooms/chatroom.schemas.js';
import { isFinished, type GenerationService, type Sender } from './generation.service.js';
import type { MessageRow } from './message.repository.js';
import {
  exchangeSchema,
  listMessagesQuery,
  messagePageSchema,
  messageParams,
  messageSchema,
  sendMessageBody,
  sendMessageQuery,
  toMessageDto,
} from './message.schemas.js';

type Deps = {
  sessions: Pick<SessionService, 'authenticate'>;
  generation: GenerationService;
  stream: Pick<ReplyStream, 'read'>;
  clock: Clock;
  replyWaitMs: number;
};

const idempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1-255 visible ASCII characters')
    .optional()
    .meta({ description: 'Retrying with the same key returns the first outcome instead of sending again' }),
});

const replyLocation = (reply: MessageRow) => `/chatroom/${reply.chatroomId}/messages/${reply.id}`;
const senderOf = (request: FastifyRequest): Sender => authOf(request).user;

export const messageRoutes =
  ({ sessions, generation, stream, clock, replyWaitMs }: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.addHook('onRequest', requireAuth(sessions));
    const openEventStream = eventStreams(app);
    const tags = ['messages'];
    const security = [{ bearerAuth: [] }];

    /** Streams a reply to an SSE client: the text so far, the live deltas, then `done` or `error`. */
    async function streamReply(sse: EventStreamWriter, reply: MessageRow) {
      if (!isFinished(reply)) {
        let partialText = false; // a `reset` only matters to a client that holds text to drop
        for await (const event of stream.read(reply.id, sse.signal)) {
          if (event.type === 'end') break;
          if (event.type === 'delta') {
            sse.send('delta', { text: event.text });
            partialText = true;
          } else if (partialText) {
            sse.send('reset', {});
            partialText = false;
          }
        }
        if (sse.signal.aborted) return; // the client left; the generation goes on without it
      } else if (reply.content) {
        sse.send('delta', { text: reply.content });
      }
      const final = (await generation.currentReply(reply.id)) ?? reply;
      if (final.status === 'failed') {
        sse.send('error', { code: final.errorCode ?? 'MODEL_FAILED', message: final.errorMessage ?? 'The reply failed' });
      } else {
        sse.send('done', toMessageDto(final));
      }
    }

    async function respondWithAllowance(request: FastifyRequest, reply: FastifyReply) {
      if (!request.auth || reply.hasHeader('ratelimit') || reply.hasHeader('ratelimit-policy')) return;
      void reply.headers(allowanceHeaders(await generation.allowanceOf(senderOf(request)), clock.now()));
    }

    app.post(
      '/chatroom/:id/message',
      {
        schema: {
          tags,
          summary: 'Send a prompt; wait for the reply, get 202 to poll, or stream it (Accept: text/event-stream)',
          operationId: 'sendMessage',
          security,
          params: chatroomParams,
          querystring: sendMessageQuery,
          headers: idempotencyHeaders,
          body: sendMessageBody,
          response: { 201: exchangeSchema, 202: exchangeSchema },
        },
        config: { problems: [409, 429, 502] },
        // Every answer of this route, errors included, carries the allowance.
        onSend: async (request, reply) => {
          await respondWithAllowance(request, reply).catch((error: unknown) => request.log.warn({ err: error }, 'allowance headers'));
        },
      },
      async (request, reply) => {
        const sender = senderOf(request);
        const outcome = await generation.send(sender, request.params.id, request.body.content, request.headers['idempotency-key']);
        const headers = allowanceHeaders(outcome.allowance, clock.now());
        const exchange = { userMessage: toMessageDto(outcome.userMessage), reply: toMessageDto(outcome.reply) };

        if (wantsEventStream(request)) {
          const sse = openEventStream(request, reply, headers);
          try {
            sse.send('message', exchange);
            await streamReply(sse, outcome.reply);
          } catch (error) {
            request.log.error({ err: error }, 'reply stream broke');
            sse.send('error', { code: 'INTERNAL', message: 'The stream broke; poll the reply for its outcome' });
          } finally {
            sse.end();
          }
          return reply;
        }

        void reply.headers(headers);
        if (!request.query.wait) return reply.code(202).header('location', replyLocation(outcome.reply)).send(exchange);

        // The response's 'close' before it finished means the client left (the request's fires once its body is read).
        const closed = new AbortController();
        reply.raw.on('close', () => {
          if (!reply.raw.writableFinished) closed.abort();
        });
        const final = await generation.waitForReply(outcome.reply.id, replyWaitMs, closed.signal);
        if (final.status === 'done') return reply.code(201).send({ ...exchange, reply: toMessageDto(final) });
        if (final.status === 'failed') {
          // The prompt was given back: the headers say so.
          void reply.headers(allowanceHeaders(await generation.allowanceOf(sender), clock.now()));
          throw new AppError('MODEL_FAILED', 502, final.errorMessage ?? 'The model failed to reply', {
            extensions: { replyId: final.id, error: { code: final.errorCode, message: final.errorMessage } },
          });
        }
        return reply.code(202).header('location', replyLocation(final)).send({ ...exchange, reply: toMessageDto(final) });
      },
    );

    app.get(
      '/chatroom/:id/messages',
      {
        schema: {
          tags,
          summary: 'List messages, paging backwards in time',
          operationId: 'listMessages',
          security,
          params: chatroomParams,
          querystring: listMessagesQuery,
          response: { 200: messagePageSchema },
        },
      },
      (request) => generation.listMessages(senderOf(request).id, request.params.id, request.query.limit, request.query.cursor),
    );

    app.get(
      '/chatroom/:id/messages/:messageId',
      {
        schema: {
          tags,
          summary: 'One message (poll a reply), or stream it with Accept: text/event-stream',
          operationId: 'getMessage',
          security,
          params: messageParams,
          response: { 200: messageSchema },
          description: 'One message, for polling a reply. With `Accept: text/event-stream`, streams the reply: the text so far, then live deltas.',
        },
      },
      async (request, reply) => {
        const message = await generation.getMessage(senderOf(request).id, request.params.id, request.params.messageId);
        if (!wantsEventStream(request)) return toMessageDto(message);
        const sse = openEventStream(request, reply);
        try {
          sse.send('message', toMessageDto(message));
          await streamReply(sse, message);
        } finally {
          sse.end();
        }
        return reply;
      },
    );
  };
