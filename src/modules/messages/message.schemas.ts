import { z } from 'zod';
import { pageOf, paginationQuery } from '../../http/pagination.js';
import { booleanQueryParam } from '../../http/query.js';
import { storableText } from '../../http/text.js';
import { chatroomSchema } from '../chatrooms/chatroom.schemas.js';
import { pathId } from '../../http/path-id.js';
import type { FileRow } from '../files/file.repository.js';
import { fileSchema, toFileDto } from '../files/file.schemas.js';
import type { MessageRow } from '../replies/reply-state.js';

const tokenCount = z.number().int();

/** Gemini's usage figures: `outputTokens` is the answer's own, thoughts apart; `cachedTokens` are part of `promptTokens`. */
export const usageSchema = z
  .object({ promptTokens: tokenCount, outputTokens: tokenCount, thoughtsTokens: tokenCount, cachedTokens: tokenCount, totalTokens: tokenCount })
  .meta({ id: 'Usage' });

/** Where an answer came from when it used Google Search (settings.grounding). */
export const groundingSchema = z
  .object({
    queries: z.array(z.string()).meta({ description: 'The searches the model ran' }),
    sources: z.array(z.object({ uri: z.string(), title: z.string() })).meta({ description: 'The web pages the answer rests on (http and https links only)' }),
    citations: z
      .array(
        z.object({
          startIndex: z.number().int(),
          endIndex: z.number().int(),
          sourceIndices: z.array(z.number().int()).meta({ description: 'Indices into sources' }),
        }),
      )
      .meta({ description: 'Spans of content and the sources that support each; offsets in UTF-16 code units (String.slice), end exclusive' }),
    searchEntryPoint: z
      .string()
      .nullable()
      .meta({ description: "Google's search-suggestion HTML, to show in a sandboxed frame (never inline in the page)" }),
  })
  .meta({ id: 'Grounding' });

export const FEEDBACK_REASONS = ['inaccurate', 'unhelpful', 'unsafe', 'other'] as const;

export const feedbackSchema = z
  .object({
    rating: z.enum(['up', 'down']),
    reason: z.enum(FEEDBACK_REASONS).nullable(),
    comment: z.string().nullable(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Feedback', description: "The owner's rating of a reply; never shown to anyone else" });

export const feedbackBody = z.object({
  rating: z.enum(['up', 'down']),
  reason: z.enum(FEEDBACK_REASONS).nullable().optional(),
  comment: storableText(0, 1000)
    .nullable()
    .optional()
    .meta({ description: 'Up to 1000 characters; blank = none' }),
});

export const messageSchema = z
  .object({
    id: z.string(),
    chatroomId: z.string(),
    parentId: z.string().nullable().meta({ description: "A prompt's parent is the reply before it (null for a first prompt); a reply's is its prompt" }),
    siblingIds: z
      .array(z.string())
      .meta({ description: 'All messages with the same parent and role, oldest first, itself included (the other branches here)' }),
    role: z.enum(['user', 'model']),
    content: z.string(),
    status: z.enum(['pending', 'streaming', 'done', 'failed']),
    finishReason: z.string().nullable(),
    thoughts: z.string().nullable().meta({ description: "The model's thought summary (settings.thinking.includeThoughts); never part of content" }),
    grounding: groundingSchema.nullable().meta({ description: 'The sources of an answer that used Google Search, or null' }),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    usage: usageSchema.nullable(),
    model: z
      .string()
      .nullable()
      .meta({
        description:
          "The model a reply was generated with (the chatroom's settings.model when it began, else the server's default); null for prompts, replies not begun yet, and replies from before this was recorded",
      }),
    attachments: z.array(fileSchema).meta({ description: "The prompt's files, in the order it named them ([] for replies)" }),
    contextTruncated: z.boolean().meta({ description: 'The reply\'s context left out older messages of its path (GENERATION_CONTEXT_TOKENS)' }),
    feedback: feedbackSchema.nullable().meta({ description: "The owner's rating of a reply (PUT …/feedback); null for prompts and unrated replies" }),
    createdAt: z.string(),
    completedAt: z.string().nullable(),
  })
  .meta({ id: 'Message' });

export type MessageDto = z.infer<typeof messageSchema>;

/** `siblingIds` comes from the tree (see message-tree.repository.ts); a message alone has `[id]`. */
export const toMessageDto = (row: MessageRow, siblingIds: string[] = [row.id], attachments: FileRow[] = []): MessageDto => ({
  id: row.id,
  chatroomId: row.chatroomId,
  parentId: row.parentId,
  siblingIds,
  role: row.role,
  content: row.content,
  status: row.status,
  finishReason: row.finishReason,
  thoughts: row.thoughts,
  grounding: row.grounding,
  error: row.errorCode === null ? null : { code: row.errorCode, message: row.errorMessage ?? '' },
  usage:
    row.promptTokens === null
      ? null
      : {
          promptTokens: row.promptTokens,
          outputTokens: row.outputTokens ?? 0,
          thoughtsTokens: row.thoughtsTokens ?? 0,
          cachedTokens: row.cachedTokens ?? 0,
          // Replies stored before the total was kept: their two figures were all there was.
          totalTokens: row.totalTokens ?? row.promptTokens + (row.outputTokens ?? 0),
        },
  // `?? null`: a row that travelled through Redis from a worker older than the column lacks it.
  model: row.model ?? null,
  attachments: attachments.map(toFileDto),
  contextTruncated: row.contextTruncated,
  feedback:
    row.feedbackRating === null
      ? null
      : {
          rating: row.feedbackRating,
          reason: row.feedbackReason,
          comment: row.feedbackComment,
          updatedAt: (row.feedbackUpdatedAt ?? row.updatedAt).toISOString(),
        },
  createdAt: row.createdAt.toISOString(),
  completedAt: row.completedAt?.toISOString() ?? null,
});

/** A prompt may carry at most this many files (contract). */
export const MAX_ATTACHMENTS = 10;

export const sendMessageBody = z
  .object({
    content: storableText(0, 8000).meta({ description: '1–8000 characters after trim; may be empty when the prompt has attachments' }),
    attachmentIds: z
      // Ids are lower case as stored: an id in capitals names the same file.
      .array(z.string().max(100).transform((id) => id.toLowerCase()))
      .max(MAX_ATTACHMENTS, `at most ${MAX_ATTACHMENTS} files per prompt`)
      .refine((ids) => new Set(ids).size === ids.length, 'must not name a file twice')
      .optional()
      .meta({ description: 'Files uploaded with POST /files, sent to the model as parts of this prompt' }),
    parentId: z
      .string()
      .max(100)
      .nullable()
      .optional()
      .meta({
        description:
          'Absent: continue from the current message. A reply of this chatroom: a new branch from there (editing the prompt after it). null: a new first prompt',
      }),
  })
  .refine((body) => body.content.length > 0 || (body.attachmentIds?.length ?? 0) > 0, {
    path: ['content'],
    message: 'must not be blank (it may be empty only when the prompt has attachments)',
  });

export const switchBranchBody = z.object({
  messageId: z.string().max(100).meta({ description: 'Any message of the branch to show: the current message becomes the newest message at its end' }),
});

export const exportQuery = z.object({
  format: z.enum(['json', 'markdown']).default('json'),
});

export const sendMessageQuery = z.object({
  wait: booleanQueryParam(true, 'false = answer 202 at once and poll the reply (Location)'),
});

export const exchangeSchema = z.object({ userMessage: messageSchema, reply: messageSchema }).meta({ id: 'MessageExchange' });
export const messagePageSchema = pageOf(messageSchema);
export const listMessagesQuery = paginationQuery;
export const messageParams = z.object({ id: pathId, messageId: pathId });
export const replyParams = z.object({ id: pathId, replyId: pathId });

export const followHeaders = z.object({
  'last-event-id': z
    .string()
    .regex(/^(\d{1,20}-\d{1,20}|end)$/, 'must be the id of an event this API sent')
    .optional()
    .meta({ description: 'The id of the last event received: the stream resumes right after it' }),
});

export const tokenTotalsSchema = z
  .object({ promptTokens: tokenCount, outputTokens: tokenCount, thoughtsTokens: tokenCount, cachedTokens: tokenCount, totalTokens: tokenCount })
  .meta({ id: 'TokenTotals', description: "Tokens of every reply of the chatroom, all branches (what the model was paid for)" });

export const conversationSchema = chatroomSchema
  .extend({ messages: z.array(messageSchema), hasMoreMessages: z.boolean(), tokenTotals: tokenTotalsSchema })
  .meta({ id: 'ChatroomWithMessages', description: 'The chatroom with the latest messages of the path from the root to its current message, oldest first' });

export type ConversationDto = z.infer<typeof conversationSchema>;

export const chatroomExportSchema = z
  .object({ chatroom: chatroomSchema, messages: z.array(messageSchema) })
  .meta({ id: 'ChatroomExport', description: 'The current branch, oldest first (format=json)' });

