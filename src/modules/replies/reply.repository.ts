import { and, asc, eq, gt, inArray, lte, sql } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { columnsOf, executeRaw, jsonColumn, rowOf } from '../../infra/db/raw-rows.js';
import { messages } from '../../infra/db/schema.js';
import type { Grounding } from '../../integrations/gemini/grounding.js';
import type { TurnFile } from '../files/model-files.js';
import { walkUp } from './path-walk.sql.js';
import { nextStatus, STOPPED, statesBefore, UNFINISHED_STATUSES, type MessageRow, type UnfinishedStatus } from './reply-state.js';
import { isChatroomHead, isUnfinishedReply, statusIn } from './reply.sql.js';

/** Where a reply may take `transition` from (reply-state.ts), as a condition of the query builder. */
const canTake = (transition: Parameters<typeof statesBefore>[0]) => inArray(messages.status, [...statesBefore(transition)]);
const unfinished = inArray(messages.status, [...UNFINISHED_STATUSES]);

export async function findReply(db: Executor, id: string): Promise<MessageRow | undefined> {
  const [row] = await db.select().from(messages).where(eq(messages.id, id));
  return row;
}

/** The chatroom's oldest reply that is done, on any branch (the exchange a title is made from). */
export async function firstFinishedReplyOf(db: Executor, chatroomId: string): Promise<MessageRow | undefined> {
  const [row] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.chatroomId, chatroomId), eq(messages.role, 'model'), eq(messages.status, 'done')))
    .orderBy(asc(messages.seq))
    .limit(1);
  return row;
}

/**
 * The oldest unfinished reply of a chatroom (the one whose turn it is), with how many of its user's
 * replies asked for before it are still unfinished (its fair-scheduling rank). One statement; both
 * lookups use the partial indexes of unfinished replies.
 */
export async function chatroomHead(db: Executor, chatroomId: string): Promise<{ head: MessageRow; earlierUnfinished: number } | undefined> {
  const [row] = await executeRaw(
    db,
    sql`select ${columnsOf(messages, 'm')}, (
      select count(*) from messages e where e.user_id = m.user_id and ${isUnfinishedReply('e')} and e.seq < m.seq
    )::int as earlier_unfinished
    from messages m
    where m.chatroom_id = ${chatroomId} and ${isUnfinishedReply('m')}
    order by m.seq limit 1`,
  );
  return row && { head: rowOf(messages, row), earlierUnfinished: Number(row.earlier_unfinished) };
}

export async function unfinishedRepliesIn(db: Executor, chatroomId: string): Promise<MessageRow[]> {
  return db
    .select()
    .from(messages)
    .where(and(eq(messages.chatroomId, chatroomId), eq(messages.role, 'model'), unfinished))
    .orderBy(asc(messages.seq));
}

/**
 * How many replies are unfinished in each state, and the age at `now` of the oldest (what the
 * metrics report). The status list is literal (isUnfinishedReply), so the partial index of
 * unfinished messages serves it: the cost follows the backlog, not the table.
 */
export async function unfinishedReplyCounts(db: Executor, now: Date): Promise<{ pending: number; streaming: number; oldestAgeSeconds: number }> {
  const rows = await executeRaw(
    db,
    sql`select m.status, count(*)::int as count,
      extract(epoch from (${now.toISOString()}::timestamptz - min(m.created_at)))::float8 as oldest_age_seconds
    from messages m where ${isUnfinishedReply('m')} group by m.status`,
  );
  const counts = { pending: 0, streaming: 0, oldestAgeSeconds: 0 };
  for (const row of rows) {
    if (row.status === 'pending' || row.status === 'streaming') counts[row.status] = Number(row.count);
    counts.oldestAgeSeconds = Math.max(counts.oldestAgeSeconds, Number(row.oldest_age_seconds));
  }
  return counts;
}

/** A turn of a reply's path: who said it, what, and the files a prompt carried. */
export interface HistoryTurn {
  role: 'user' | 'model';
  text: string;
  files: TurnFile[];
}

export interface ClaimedTurn {
  reply: MessageRow;
  /**
   * The turns before it on its path that can serve as its context, newest first, at most the
   * number asked for: the prompts, and the model's finished replies (failed and unfinished ones have
   * nothing to say). Sibling branches are never on the path.
   */
  history: HistoryTurn[];
  /** The path has usable turns older than `history` (more than the number asked for). */
  historyCut: boolean;
  /** What the reply was before this claim: `streaming` means an earlier attempt had begun a text. */
  previousStatus: 'pending' | 'streaming';
  /** The chatroom's own generation settings (null = the server's), with the model chosen for this reply. */
  settings: {
    /** The model the reply records (the chatroom's, else the server's): chosen here, once, for the call, the usage and the feedback. */
    model: string;
    systemInstruction: string | null;
    temperature: number | null;
    thinking: { budget: number | null; includeThoughts: boolean } | null;
    /** Answers may use Google Search. */
    grounding: boolean;
  };
  /** The chatroom's title when the turn began (automatic titles look only at untitled chatrooms). */
  chatroomTitle: string;
}

/**
 * Claims a reply for an attempt if its turn has come, in one statement: it is unfinished, and no
 * older reply of its chatroom is (the head). Its text starts over; the chatroom's settings and the
 * reply's history (at most `maxTurns`) come with it. The reply records the model it is generated
 * with (the chatroom's, else `serverModel`), read with those settings: its feedback is counted under
 * it even after the chatroom changes model. Undefined otherwise (gone, finished, not a reply, or not
 * its turn: the caller finds out which).
 */
export async function claimTurn(db: Executor, id: string, now: Date, maxTurns: number, serverModel: string): Promise<ClaimedTurn | undefined> {
  const usable = sql`m.id <> ${id} and (m.role = 'user' or m.status = 'done')`;
  const [row] = await executeRaw(
    db,
    sql`${walkUp(id, usable, maxTurns + 1)}
    update messages m set status = ${nextStatus('pending', 'claim')}, content = '', model = coalesce(c.model, ${serverModel}),
      updated_at = ${now.toISOString()}::timestamptz
    from (select id, status from messages where id = ${id} for update) prior, chatrooms c
    where m.id = ${id} and m.id = prior.id and c.id = m.chatroom_id and ${isUnfinishedReply('m')} /* = statesBefore('claim') */ and ${isChatroomHead('m')}
    returning ${columnsOf(messages, 'm')}, prior.status as previous_status, c.system_instruction as room_system_instruction,
      c.temperature as room_temperature, c.thinking as room_thinking, c.grounding as room_grounding, c.title as room_title, (
        select coalesce(json_agg(json_build_object('role', turn.role, 'text', turn.content, 'files', (
          select coalesce(json_agg(json_build_object(
            'id', f.id, 'name', f.name, 'mimeType', f.mime_type, 'sizeBytes', f.size_bytes, 'tokens', f.tokens,
            'storageKey', f.storage_key, 'deleted', f.deleted_at is not null, 'geminiUri', f.gemini_uri, 'geminiExpiresAt', f.gemini_expires_at
          ) order by a.position), '[]')
          from message_attachments a join files f on f.id = a.file_id where a.message_id = turn.id
        )) order by turn.seq desc), '[]')
        from (
          select id, role, content, seq from path where id <> ${id} and (role = 'user' or status = 'done') order by seq desc limit ${maxTurns + 1}
        ) turn
      ) as history`,
  );
  if (!row) return undefined;
  const read = jsonColumn<HistoryTurn[]>(row.history);
  const reply = rowOf(messages, row);
  return {
    reply,
    history: read.slice(0, maxTurns),
    historyCut: read.length > maxTurns,
    previousStatus: row.previous_status === 'streaming' ? 'streaming' : 'pending',
    settings: {
      model: reply.model ?? serverModel,
      systemInstruction: (row.room_system_instruction as string | null) ?? null,
      temperature: row.room_temperature === null ? null : Number(row.room_temperature),
      thinking: row.room_thinking === null || row.room_thinking === undefined ? null : jsonColumn<ClaimedTurn['settings']['thinking']>(row.room_thinking),
      grounding: row.room_grounding === true,
    },
    chatroomTitle: String(row.room_title),
  };
}

/**
 * Gives a reply back to the queue (a retry later, or another worker after a shutdown): `pending`
 * means nobody is generating it, so a stop ends it at once instead of waiting for a worker.
 */
export async function releaseReply(db: Executor, id: string, now: Date): Promise<void> {
  await db
    .update(messages)
    .set({ status: 'pending', updatedAt: now })
    .where(and(eq(messages.id, id), canTake('release')));
}

export interface ReplyResult {
  content: string;
  /** The thought summary, or null when the model returned none. */
  thoughts: string | null;
  /** Where the answer came from, when it used Google Search. */
  grounding: Grounding | null;
  finishReason: string | null;
  promptTokens: number | null;
  outputTokens: number | null;
  thoughtsTokens: number | null;
  cachedTokens: number | null;
  totalTokens: number | null;
  contextTruncated: boolean;
}

/** Stores the finished reply; the row as stored, or undefined if it was no longer being generated (stopped, deleted). */
export async function completeReply(db: Executor, id: string, result: ReplyResult, now: Date): Promise<MessageRow | undefined> {
  const at = now.toISOString();
  const [row] = await executeRaw(
    db,
    sql`update messages set status = 'done', content = ${result.content}, thoughts = ${result.thoughts}, grounding = ${result.grounding === null ? null : JSON.stringify(result.grounding)}::jsonb, finish_reason = ${result.finishReason},
      prompt_tokens = ${result.promptTokens}::int, output_tokens = ${result.outputTokens}::int, thoughts_tokens = ${result.thoughtsTokens}::int,
      cached_tokens = ${result.cachedTokens}::int, total_tokens = ${result.totalTokens}::int, context_truncated = ${result.contextTruncated},
      updated_at = ${at}::timestamptz, completed_at = ${at}::timestamptz
    where id = ${id} and ${statusIn('status', statesBefore('complete'))}
    returning ${columnsOf(messages)}`,
  );
  return row && rowOf(messages, row);
}

/**
 * A reply row that travelled with the end of its stream: as JSON through Redis (dates back to dates),
 * or as it is in memory. Undefined for anything that does not look like one, so that the reader falls
 * back to the database.
 */
export function replyFromJson(value: unknown): MessageRow | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const row = value as Record<string, unknown>;
  const date = (field: unknown) => (field instanceof Date ? field : typeof field === 'string' ? new Date(field) : null);
  const createdAt = date(row.createdAt);
  if (typeof row.id !== 'string' || typeof row.status !== 'string' || createdAt === null) return undefined;
  return { ...(row as unknown as MessageRow), createdAt, updatedAt: date(row.updatedAt) ?? createdAt, completedAt: date(row.completedAt) };
}

/**
 * Ends an unfinished reply as stopped with the text it has, if it is still in one of `from` (those
 * the caller is sure nobody else ends: the api ends only a `pending` one itself). Returns the row
 * only for the one call that made the change, so that the caller refunds once.
 */
export async function stopReply(db: Executor, id: string, content: string, from: readonly UnfinishedStatus[], now: Date, thoughts: string | null = null) {
  const allowed = from.filter((state) => statesBefore('stop').includes(state));
  const [row] = await db
    .update(messages)
    .set({ status: 'done', content, thoughts, finishReason: STOPPED, updatedAt: now, completedAt: now })
    .where(and(eq(messages.id, id), inArray(messages.status, allowed)))
    .returning();
  return row;
}

/** What a failed reply says: the code and message the client is told, and why the model stopped, if it said. */
export interface ReplyFailure {
  code: string;
  message: string;
  finishReason?: string | null;
}

/**
 * Marks an unfinished reply failed. Returns the row only for the one call that made the change,
 * so that the caller gives the prompt back exactly once.
 */
export async function failReply(db: Executor, id: string, error: ReplyFailure, now: Date) {
  const [row] = await db
    .update(messages)
    .set({ status: 'failed', errorCode: error.code, errorMessage: error.message, finishReason: error.finishReason ?? null, updatedAt: now, completedAt: now })
    .where(and(eq(messages.id, id), canTake('fail')))
    .returning();
  return row;
}

/**
 * One page of chatrooms that have unfinished replies untouched since `before`, with the oldest such
 * reply of each, in chatroom id order after `afterChatroomId` (keyset: a sweep walks all of them).
 */
export async function staleChatroomHeads(db: Executor, before: Date, afterChatroomId: string | undefined, limit: number) {
  return db
    .selectDistinctOn([messages.chatroomId], { chatroomId: messages.chatroomId, replyId: messages.id })
    .from(messages)
    .where(
      and(
        eq(messages.role, 'model'),
        unfinished,
        lte(messages.updatedAt, before),
        afterChatroomId === undefined ? undefined : gt(messages.chatroomId, afterChatroomId),
      ),
    )
    .orderBy(asc(messages.chatroomId), asc(messages.seq))
    .limit(limit);
}
