import { randomUUID } from 'node:crypto';
import type { Executor } from '../../infra/db/client.js';
import { messages, type SharedMessageSnapshot } from '../../infra/db/schema.js';

/** Rows per insert: well under PostgreSQL's 65,535 parameters a statement. */
const ROWS_PER_INSERT = 500;

/**
 * Writes a snapshot's messages into a chatroom as one branch, oldest first (each the parent of the
 * next, `seq` in the same order), finished as they were shared: `done`, no usage, no allowance day (a
 * fork spends none), no thoughts. Answers the new ids, in the snapshot's order.
 */
export async function insertForkedMessages(
  tx: Executor,
  target: { chatroomId: string; userId: string },
  snapshot: SharedMessageSnapshot[],
  now: Date,
): Promise<string[]> {
  const ids = snapshot.map(() => randomUUID());
  const rows = snapshot.map((message, index) => ({
    id: ids[index] as string,
    chatroomId: target.chatroomId,
    userId: target.userId,
    parentId: index === 0 ? null : (ids[index - 1] as string),
    role: message.role,
    content: message.content,
    grounding: message.grounding,
    status: 'done' as const,
    finishReason: message.finishReason,
    createdAt: new Date(message.createdAt),
    completedAt: new Date(message.createdAt),
    updatedAt: now,
  }));
  for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
    await tx.insert(messages).values(rows.slice(start, start + ROWS_PER_INSERT));
  }
  return ids;
}
