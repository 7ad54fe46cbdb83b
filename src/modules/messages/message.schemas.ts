import { z } from 'zod';
import { pageOf, paginationQuery } from '../../http/pagination.js';
import { storableText } from '../../http/text.js';
import { chatroomSchema } from '../chatrooms/chatroom.schemas.js';
import type { MessageRow } from './message.repository.js';

export const messageSchema = z
  .object({
    id: z.string(),
    chatroomId: z.string(),
    role: z.enum(['user', 'model']),
    content: z.string(),
    status: z.enum(['pending', 'streaming', 'done', 'failed']),
    finishReason: z.string().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    usage: z.object({ promptTokens: z.number().int(), outputTokens: z.number().int() }).nullable(),
    createdAt: z.string(),
    completedAt: z.string().nullable(),
  })
  .meta({ id: 'Message' });

export type MessageDto = z.infer<typeof messageSchema>;

export const toMessageDto = (row: MessageRow): MessageDto => ({
  id: row.id,
  chatroomId: row.chatroomId,
  role: row.role,
  content: row.content,
  status: row.status,
  finishReason: row.finishReason,
  error: row.errorCode === null ? null : { code: row.errorCode, message: row.errorMessage ?? '' },
  usage: row.promptTokens === null ? null : { promptTokens: row.promptTokens, outputTokens: row.outputTokens ?? 0 },
  createdAt: row.createdAt.toISOString(),
  completedAt: row.completedAt?.toISOString() ?? null,
});

export const sendMessageBody = z.object({
  content: storableText(1, 8000),
});

export const sendMessageQuery = z.object({
  wait: z
    .enum(['true', 'false'])
    .default('true')
    .transform((value) => value === 'true')
    .meta({ description: 'false = answer 202 at once and poll the reply' }),
});

export const exchangeSchema = z.object({ userMessage: messageSchema, reply: messageSchema }).meta({ id: 'MessageExchange' });
export const messagePageSchema = pageOf(messageSchema);
export const listMessagesQuery = paginationQuery;
export const messageParams = z.object({ id: z.string().max(100), messageId: z.string().max(100) });
export const replyParams = z.object({ id: z.string().max(100), replyId: z.string().max(100) });

export const followHeaders = z.object({
  'last-event-id': z
    .string()
    .regex(/^(\d{1,20}-\d{1,20}|end)$/, 'must be the id of an event this API sent')
    .optional()
    .meta({ description: 'The id of the last event received: the stream resumes right after it' }),
});

export const conversationSchema = chatroomSchema
  .extend({ messages: z.array(messageSchema), hasMoreMessages: z.boolean() })
  .meta({ id: 'ChatroomWithMessages' });

/** The SSE body, for the OpenAPI document (the route writes it itself). */
export const eventStreamBody = z.string().meta({
  description:
    'text/event-stream: `delta` ({ text }), `reset` ({}), then `done` (Message) or `error` ({ code, message }); every event has an `id:`; `: keep-alive` comments while idle',
});
