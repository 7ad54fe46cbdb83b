import type { Executor } from '../../infra/db/client.js';
import type { ChatTurn } from '../../integrations/gemini/model.js';
import { contextWindow } from './context-window.js';
import { historyBefore, type MessageRow } from './reply.repository.js';

const MAX_CONTEXT_TURNS = 100;

/**
 * What the model sees when it writes `reply`: the turns that lead to it, oldest first, cut to the
 * character budget. Today that is the chatroom's earlier turns; when conversations become trees it
 * is the path to the reply, and this is the one function that changes.
 */
export async function contextFor(db: Executor, reply: MessageRow, charBudget: number): Promise<ChatTurn[]> {
  const history = await historyBefore(db, reply.chatroomId, reply.seq, MAX_CONTEXT_TURNS);
  return contextWindow(
    history.map((turn) => ({ role: turn.role, text: turn.content })),
    charBudget,
  );
}
