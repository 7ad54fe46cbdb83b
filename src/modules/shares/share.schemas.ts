import { z } from 'zod';
import { paginationQuery, pageOf } from '../../http/pagination.js';
import { fileSchema } from '../files/file.schemas.js';
import { groundingSchema } from '../messages/message.schemas.js';

/** 128 random bits as base64url: the link's secret (not a UUID, not a sequence). */
export const SHARE_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export const shareSchema = z
  .object({
    id: z.string().meta({ description: '128 random bits, base64url (22 characters): whoever holds it can read the share' }),
    url: z.string().meta({ description: 'The public read-only page of the share: PUBLIC_BASE_URL + /s/:id' }),
    chatroomId: z.string(),
    title: z.string().meta({ description: "The chatroom's title when it was shared" }),
    messageCount: z.number().int(),
    createdAt: z.string(),
  })
  .meta({ id: 'Share', description: 'A frozen snapshot of a branch of one of your chatrooms, readable by anyone with its link' });

export type ShareDto = z.infer<typeof shareSchema>;

export const sharePageSchema = pageOf(shareSchema).meta({ id: 'SharePage' });
export const listSharesQuery = paginationQuery;

export const chatroomShareParams = z.object({ id: z.string().max(100), shareId: z.string().max(100) });
export const shareParams = z.object({ shareId: z.string().max(100) });
export const sharedFileParams = z.object({ shareId: z.string().max(100), fileId: z.string().max(100) });

export const sharedAttachmentSchema = fileSchema
  .extend({ url: z.string().meta({ description: 'Where its bytes are: /shares/:shareId/files/:fileId on this server (404 once its owner deleted it)' }) })
  .meta({ id: 'SharedFile' });

export const sharedMessageSchema = z
  .object({
    id: z.string().meta({ description: "The message's id in the snapshot" }),
    role: z.enum(['user', 'model']),
    content: z.string(),
    attachments: z.array(sharedAttachmentSchema),
    grounding: groundingSchema.nullable().meta({ description: 'Where the answer came from when it used Google Search, or null' }),
    createdAt: z.string(),
  })
  .meta({ id: 'SharedMessage' });

export const sharedConversationSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    messages: z.array(sharedMessageSchema),
    sharedAt: z.string(),
  })
  .meta({ id: 'SharedConversation', description: 'A share as anyone with its link reads it: no user id, number, name, settings, thoughts or feedback' });

export type SharedConversation = z.infer<typeof sharedConversationSchema>;

/** The HTML page's body, for the OpenAPI document. */
export const sharePageHtml = z.string().meta({ description: 'text/html: the read-only page of the share (a 404 page when unknown or revoked)' });
