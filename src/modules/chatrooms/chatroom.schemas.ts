import { z } from 'zod';
import { pageOf, paginationQuery } from '../../http/pagination.js';
import { storableText } from '../../http/text.js';
import type { ChatroomRow } from './chatroom.repository.js';

const title = storableText(1, 120);

// The body is optional altogether: POST /chatroom with none makes a "New chat".
export const createChatroomBody = z.object({ title: title.optional() }).nullish();
export const renameChatroomBody = z.object({ title });
export const chatroomParams = z.object({ id: z.string().max(100) });
export const listChatroomsQuery = paginationQuery;

export const chatroomSchema = z
  .object({ id: z.string(), title: z.string(), createdAt: z.string(), updatedAt: z.string() })
  .meta({ id: 'Chatroom' });
export const chatroomPageSchema = pageOf(chatroomSchema);

export type ChatroomDto = z.infer<typeof chatroomSchema>;
export type ChatroomPage = z.infer<typeof chatroomPageSchema>;

export const toChatroomDto = (row: ChatroomRow): ChatroomDto => ({
  id: row.id,
  title: row.title,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});
