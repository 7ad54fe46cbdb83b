import type { ClaimedTurn, ReplyResult } from '../../../src/modules/replies/reply.repository.js';
import { isFinished, nextStatus, STOPPED, type MessageRow, type UnfinishedStatus } from '../../../src/modules/replies/reply-state.js';
import type { ReplyStore } from '../../../src/modules/replies/reply-store.js';
import { messageRow } from './message-row.js';

/**
 * The reply store in memory, following the same state machine as the SQL (reply-state.ts): a
 * reply moves only from the states its transition allows, and only the call that moved it gets
 * the row back. Refunds are counted per user so that a test can see a prompt given back once.
 */
export function memoryReplyStore() {
  const rows = new Map<string, MessageRow>();
  const refunds = new Map<string, number>();
  let seq = 0;

  /** Moves a reply as the machine allows (`only`: a narrower set of starting states, as a stop from the api asks). */
  const move = (id: string, transition: Parameters<typeof nextStatus>[1], change: Partial<MessageRow>, now: Date, only?: readonly string[]) => {
    const row = rows.get(id);
    if (!row || (only && !only.includes(row.status))) return undefined;
    const status = nextStatus(row.status, transition);
    if (!status) return undefined;
    const moved = { ...row, ...change, status, updatedAt: now };
    rows.set(id, moved);
    return moved;
  };
  const unfinishedOf = (chatroomId: string) =>
    [...rows.values()].filter((row) => row.chatroomId === chatroomId && row.role === 'model' && !isFinished(row)).sort((a, b) => a.seq - b.seq);

  const store: ReplyStore = {
    find: (id) => Promise.resolve(rows.get(id)),
    firstFinishedOf: (chatroomId) =>
      Promise.resolve([...rows.values()].filter((row) => row.chatroomId === chatroomId && row.role === 'model' && row.status === 'done').sort((a, b) => a.seq - b.seq)[0]),
    chatroomHead(chatroomId) {
      const head = unfinishedOf(chatroomId)[0];
      if (!head) return Promise.resolve(undefined);
      const earlierUnfinished = [...rows.values()].filter((row) => row.userId === head.userId && row.role === 'model' && !isFinished(row) && row.seq < head.seq).length;
      return Promise.resolve({ head, earlierUnfinished });
    },
    unfinishedIn: (chatroomId) => Promise.resolve(unfinishedOf(chatroomId)),
    unfinishedCounts(now) {
      const unfinished = [...rows.values()].filter((row) => row.role === 'model' && !isFinished(row));
      const oldest = Math.min(...unfinished.map((row) => row.createdAt.getTime()));
      return Promise.resolve({
        pending: unfinished.filter((row) => row.status === 'pending').length,
        streaming: unfinished.filter((row) => row.status === 'streaming').length,
        oldestAgeSeconds: unfinished.length === 0 ? 0 : (now.getTime() - oldest) / 1000,
      });
    },
    staleChatroomHeads(before, afterChatroomId, limit) {
      const heads = new Map<string, string>();
      for (const row of [...rows.values()].sort((a, b) => a.seq - b.seq)) {
        if (row.role !== 'model' || isFinished(row) || row.updatedAt > before) continue;
        if (afterChatroomId !== undefined && row.chatroomId <= afterChatroomId) continue;
        if (!heads.has(row.chatroomId)) heads.set(row.chatroomId, row.id);
      }
      const page = [...heads].sort(([a], [b]) => a.localeCompare(b)).slice(0, limit);
      return Promise.resolve(page.map(([chatroomId, replyId]) => ({ chatroomId, replyId })));
    },
    claimTurn(id, now, maxTurns, serverModel): Promise<ClaimedTurn | undefined> {
      const row = rows.get(id);
      if (!row || row.role !== 'model' || isFinished(row) || unfinishedOf(row.chatroomId)[0]?.id !== id) return Promise.resolve(undefined);
      const previousStatus = row.status as UnfinishedStatus;
      // The fake's chatrooms have no settings: every reply is generated with the server's model.
      const reply = move(id, 'claim', { content: '', model: serverModel }, now) as MessageRow;
      const history = [];
      for (let parent = row.parentId ? rows.get(row.parentId) : undefined; parent && history.length < maxTurns; parent = parent.parentId ? rows.get(parent.parentId) : undefined) {
        if (parent.role === 'user' || parent.status === 'done') history.push({ role: parent.role, text: parent.content, files: [] });
      }
      return Promise.resolve({ reply, history, historyCut: false, previousStatus, settings: { model: serverModel, systemInstruction: null, temperature: null, thinking: null, grounding: false }, chatroomTitle: 'New chat' });
    },
    complete(id, result: ReplyResult, now) {
      return Promise.resolve(
        move(id, 'complete', { content: result.content, finishReason: result.finishReason, promptTokens: result.promptTokens, outputTokens: result.outputTokens, thoughtsTokens: result.thoughtsTokens, cachedTokens: result.cachedTokens, totalTokens: result.totalTokens, contextTruncated: result.contextTruncated, completedAt: now }, now),
      );
    },
    release(id, now) {
      move(id, 'release', {}, now);
      return Promise.resolve();
    },
    endStopped(id, text, from, now) {
      const row = move(id, 'stop', { content: text, finishReason: STOPPED, completedAt: now }, now, from);
      if (row && text === '') refunds.set(row.userId, (refunds.get(row.userId) ?? 0) + 1);
      return Promise.resolve(row);
    },
    endFailed(id, error, now) {
      const row = move(id, 'fail', { errorCode: error.code, errorMessage: error.message, completedAt: now }, now);
      if (row) refunds.set(row.userId, (refunds.get(row.userId) ?? 0) + 1);
      return Promise.resolve(row);
    },
  };

  return {
    store,
    refundsOf: (userId: string) => refunds.get(userId) ?? 0,
    /** Adds a message; a reply defaults to `pending`, a prompt to `done`. */
    add(fields: Partial<MessageRow> & Pick<MessageRow, 'chatroomId' | 'role'>): MessageRow {
      const row = messageRow({
        seq: ++seq,
        userId: 'user-1',
        status: fields.role === 'model' ? 'pending' : 'done',
        allowanceDay: fields.role === 'model' ? '2026-12-05' : null,
        ...fields,
      });
      rows.set(row.id, row);
      return row;
    },
    get: (id: string) => rows.get(id),
  };
}
