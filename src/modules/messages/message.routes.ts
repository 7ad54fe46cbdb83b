import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../infra/clock.js';
import { authOf, requireAuth } from '../auth/auth-hook.js';
import { bearerAuth, type OperationWire } from '../../http/openapi.js';
import { eventStreams, wantsEventStream, type EventStreamWriter } from '../../http/sse.js';
import { STREAM_START } from '../../infra/reply-stream.js';
import type { SessionService } from '../auth/session.service.js';
import { allowanceHeaders } from '../billing/allowance-headers.js';
import { chatroomParams } from '../chatrooms/chatroom.schemas.js';
import type { ReplyFollower } from '../replies/reply-follower.js';
import type { MessageRow } from '../replies/reply-state.js';
import { exportFileName, toMarkdown } from './conversation-export.js';
import {
  chatroomExportSchema,
  conversationSchema,
  exportQuery,
  exchangeSchema,
  followHeaders,
  listMessagesQuery,
  messagePageSchema,
  messageParams,
  messageSchema,
  replyParams,
  sendMessageBody,
  sendMessageQuery,
  switchBranchBody,
} from './message.schemas.js';
import type { MessageService, Sender, SendOutcome } from './message.service.js';
import { followMessageEventStream, replyEventStream, sendEventStream } from './reply-event.schemas.js';
import { sendReplyEvents, type ReplyEventsOptions } from './reply-events.js';
import type { StreamSlots } from './stream-slots.js';

type Deps = {
  sessions: Pick<SessionService, 'authenticate'>;
  messages: MessageService;
  follower: Pick<ReplyFollower, 'follow'>;
  streamSlots: StreamSlots;
  clock: Clock;
  replyWaitMs: number;
  keepAliveMs: number;
};

const idempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1-255 visible ASCII characters')
    .optional()
    .meta({ description: 'Retrying with the same key returns the first outcome instead of sending again' }),
});

/** How a send or a regenerate answers, by what the client asked (OpenAPI). */
const generationAnswers: OperationWire = {
  rateLimited: true,
  responses: {
    200: { description: 'Accept: text/event-stream: the exchange, then the reply as it is written', content: { 'text/event-stream': sendEventStream } },
    201: { description: 'The prompt and its finished reply (the reply waited for)' },
    202: { description: 'The prompt and its reply, still being written (?wait=false, or past the wait): poll Location', headers: ['Location'] },
  },
};

const replyLocation = (reply: MessageRow) => `/chatroom/${reply.chatroomId}/messages/${reply.id}`;
const senderOf = (request: FastifyRequest): Sender => authOf(request).user;

/** Aborts when the client goes away before the response is sent (the request's 'close' fires once its body is read). */
function clientLeft(reply: FastifyReply): AbortSignal {
  const left = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) left.abort();
  });
  return left.signal;
}

export const messageRoutes =
  ({ sessions, messages, follower, streamSlots, clock, replyWaitMs, keepAliveMs }: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.addHook('onRequest', requireAuth(sessions));
    const openEventStream = eventStreams(app, { keepAliveMs });
    const tags = ['messages'];
    const security = bearerAuth;

    /**
     * Answers with an event stream of a reply. `first` is sent before the reply's events (with
     * the position of the stream's start). The stream slot is taken by the caller, before any work.
     */
    async function streamReply(
      request: FastifyRequest,
      reply: FastifyReply,
      message: MessageRow,
      options: Omit<ReplyEventsOptions, 'present'> & { first?: { event: string; data: unknown }; headers?: Record<string, string>; release: () => void },
    ) {
      let sse: EventStreamWriter | undefined;
      try {
        sse = openEventStream(request, reply, options.headers);
        if (options.first) sse.send(options.first.event, options.first.data, STREAM_START);
        await sendReplyEvents(sse, follower, message, { ...options, present: messages.presentOne });
      } catch (error) {
        request.log.error({ err: error }, 'reply stream broke');
        sse?.send('error', { code: 'INTERNAL', message: 'The stream broke; reconnect with Last-Event-ID or poll the reply' });
      } finally {
        sse?.end();
        options.release();
      }
      return reply;
    }

    async function respondWithAllowance(request: FastifyRequest, reply: FastifyReply) {
      if (!request.auth || reply.hasHeader('ratelimit') || reply.hasHeader('ratelimit-policy')) return;
      void reply.headers(allowanceHeaders(await messages.allowanceOf(senderOf(request)), clock.now()));
    }

    /**
     * Starts a generation (a send or a regenerate) and answers it as the client asked: an event
     * stream, 202 at once (?wait=false), or the reply waited for (201, or 202 when still running).
     */
    async function answerGeneration(request: FastifyRequest, reply: FastifyReply, wait: boolean, start: (sender: Sender) => Promise<SendOutcome>) {
      const sender = senderOf(request);
      // A stream that would be refused is refused before anything is stored or spent.
      const release = wantsEventStream(request) ? streamSlots.acquire(sender.id) : undefined;
      let outcome;
      try {
        outcome = await start(sender);
      } catch (error) {
        release?.();
        throw error;
      }
      const headers = allowanceHeaders(outcome.allowance, clock.now());
      const presented = messages.presentExchange(outcome);

      if (release) {
        return streamReply(request, reply, outcome.reply, { first: { event: 'message', data: await presented }, headers, joinBacklog: false, release });
      }

      void reply.headers(headers);
      if (!wait) return reply.code(202).header('location', replyLocation(outcome.reply)).send(await presented);

      const answered = await messages.awaitExchange(sender, outcome, replyWaitMs, clientLeft(reply));
      if (answered.status === 202) void reply.header('location', replyLocation(outcome.reply));
      return reply.code(answered.status).send(answered.exchange);
    }

    // Every answer of the generating routes, errors included, carries the allowance.
    const withAllowanceHeaders = async (request: FastifyRequest, reply: FastifyReply) => {
      await respondWithAllowance(request, reply).catch((error: unknown) => request.log.warn({ err: error }, 'allowance headers'));
    };

    app.post(
      '/chatroom/:id/message',
      {
        schema: {
          summary: 'Send a prompt and get the reply (waited for, 202 to poll, or streamed)',
          operationId: 'sendMessage',
          tags,
          security,
          params: chatroomParams,
          querystring: sendMessageQuery,
          headers: idempotencyHeaders,
          body: sendMessageBody,
          response: { 201: exchangeSchema, 202: exchangeSchema },
          description:
            'Without `parentId` the prompt continues from the current message. With `parentId` (a reply of this chatroom, or null for a new first prompt) it starts a new branch there: this is how a client edits an earlier prompt.',
        },
        config: { problems: [422, 502], openapi: generationAnswers },
        onSend: withAllowanceHeaders,
      },
      (request, reply) =>
        answerGeneration(request, reply, request.query.wait, (sender) =>
          messages.send(sender, request.params.id, request.body, request.headers['idempotency-key']),
        ),
    );

    app.post(
      '/chatroom/:id/messages/:replyId/regenerate',
      {
        schema: {
          summary: 'Generate a new reply to the same prompt (a sibling of this reply)',
          operationId: 'regenerateReply',
          tags,
          security,
          params: replyParams,
          querystring: sendMessageQuery,
          headers: idempotencyHeaders,
          response: { 201: exchangeSchema, 202: exchangeSchema },
          description:
            'Answers like sending (wait, `?wait=false`, SSE, `Idempotency-Key`, RateLimit headers, 429) and spends one prompt; the new reply becomes the current message. `409 REPLY_IN_PROGRESS` while the reply is unfinished.',
        },
        config: { problems: [409, 422, 502], openapi: generationAnswers },
        onSend: withAllowanceHeaders,
      },
      (request, reply) =>
        answerGeneration(request, reply, request.query.wait, (sender) =>
          messages.regenerate(sender, request.params.id, request.params.replyId, request.headers['idempotency-key']),
        ),
    );

    app.put(
      '/chatroom/:id/current-message',
      {
        schema: {
          summary: 'Switch branch: show the branch through a message',
          operationId: 'switchBranch',
          tags,
          security,
          params: chatroomParams,
          body: switchBranchBody,
          response: { 200: conversationSchema },
          description: 'The current message becomes the newest message at the end of the branch through `messageId`.',
        },
      },
      async (request) => {
        return messages.switchBranch(senderOf(request).id, request.params.id, request.body.messageId);
      },
    );

    app.get(
      '/chatroom/:id/export',
      {
        schema: {
          summary: 'Download the current branch as JSON or Markdown',
          operationId: 'exportChatroom',
          tags: ['chatrooms'],
          security,
          params: chatroomParams,
          querystring: exportQuery,
          response: {
            200: {
              description: 'The current branch as a download: JSON (format=json) or a Markdown transcript (format=markdown)',
              content: {
                'application/json': { schema: chatroomExportSchema },
                'text/markdown': { schema: z.string().meta({ description: 'The transcript, oldest message first' }) },
              },
            },
          },
          description: 'An attachment (`Content-Disposition`): `format=json` (default) the chatroom and its messages, `format=markdown` a readable transcript.',
        },
        config: { openapi: { responses: { 200: { headers: ['Content-Disposition'] } } } },
      },
      async (request, reply) => {
        const exported = await messages.exportBranch(senderOf(request).id, request.params.id);
        const { format } = request.query;
        void reply.header('content-disposition', `attachment; filename="${exportFileName(exported.chatroom, format)}"`);
        if (format === 'json') return exported;
        // A string with a non-JSON type is sent as it is, past the JSON serializer.
        return reply.type('text/markdown; charset=utf-8').send(toMarkdown(exported));
      },
    );

    app.get(
      '/chatroom/:id',
      {
        schema: {
          summary: 'Get a chatroom with the latest messages of its current branch and its token totals',
          operationId: 'getChatroom',
          tags: ['chatrooms'],
          security,
          params: chatroomParams,
          response: { 200: conversationSchema },
        },
      },
      async (request) => {
        return messages.conversation(senderOf(request).id, request.params.id);
      },
    );

    app.get(
      '/chatroom/:id/messages',
      {
        schema: {
          summary: 'List the messages of the current branch, newest first',
          operationId: 'listMessages',
          tags,
          security,
          params: chatroomParams,
          querystring: listMessagesQuery,
          response: { 200: messagePageSchema },
        },
      },
      (request) => messages.listMessages(senderOf(request).id, request.params.id, request.query.limit, request.query.cursor),
    );

    app.get(
      '/chatroom/:id/messages/:messageId',
      {
        schema: {
          summary: 'Get one message (poll a reply)',
          operationId: 'getMessage',
          tags,
          security,
          params: messageParams,
          response: { 200: messageSchema },
          description: 'One message, for polling a reply. With `Accept: text/event-stream`, streams the reply: the message, the text so far, then live deltas.',
        },
        config: {
          problems: [429],
          openapi: {
            responses: {
              200: { description: 'The message; with Accept: text/event-stream, its stream (`message` first)', content: { 'text/event-stream': followMessageEventStream } },
            },
          },
        },
      },
      async (request, reply) => {
        const sender = senderOf(request);
        const message = await messages.getMessage(sender.id, request.params.id, request.params.messageId);
        if (!wantsEventStream(request)) return messages.presentOne(message);
        const release = streamSlots.acquire(sender.id);
        return streamReply(request, reply, message, { first: { event: 'message', data: await messages.presentOne(message) }, joinBacklog: true, release });
      },
    );

    app.get(
      '/chatroom/:id/messages/:replyId/stream',
      {
        schema: {
          summary: 'Follow a reply as Server-Sent Events, resuming after Last-Event-ID',
          operationId: 'streamReply',
          tags,
          security,
          params: replyParams,
          headers: followHeaders,
          description:
            'Everything so far as one `delta`, then live `delta`s, then `done` or `error`. With `Last-Event-ID`, only what came after that event. A finished reply: `done` at once.',
        },
        config: {
          problems: [429],
          openapi: { responses: { 200: { description: "The reply's events", content: { 'text/event-stream': replyEventStream } } } },
        },
      },
      async (request, reply) => {
        const sender = senderOf(request);
        const message = await messages.getMessage(sender.id, request.params.id, request.params.replyId);
        const release = streamSlots.acquire(sender.id);
        const lastEventId = request.headers['last-event-id'];
        return streamReply(request, reply, message, { lastEventId, joinBacklog: lastEventId === undefined, release });
      },
    );

    app.post(
      '/chatroom/:id/messages/:replyId/stop',
      {
        schema: {
          summary: 'Stop a reply that is being generated',
          operationId: 'stopReply',
          tags,
          security,
          params: replyParams,
          response: { 200: messageSchema },
          description:
            'Cancels the model call wherever it runs; the reply keeps the text so far and ends `done` with `finishReason: "STOPPED"` (given back to the allowance if it had no text yet). A finished reply is returned unchanged.',
        },
        config: { problems: [503] },
      },
      async (request) => messages.presentOne(await messages.stop(senderOf(request).id, request.params.id, request.params.replyId)),
    );
  };
