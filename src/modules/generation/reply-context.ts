import type { Executor } from '../../infra/db/client.js';
import type { ChatTurn } from '../../integrations/gemini/model.js';
import { contextWindow } from './context-window.js';
import { contextTurnsBefore } from '../messages/message-path.repository.js';
import type { MessageRow } from './reply.repository.js';

const MAX_CONTEXT_TURNS = 100;

/**
 * What the model sees when it writes `reply`: the turns on the path from the conversation's root to
 * it, oldest first, cut to the character budget. Never a sibling branch: an edited prompt's reply
 * does not see the prompt it replaced, a regenerated reply does not see the reply it replaces.
 */
export async function contextFor(db: Executor, reply: MessageRow, charBudget: number): Promise<ChatTurn[]> {
  const history = await contextTurnsBefore(db, reply, MAX_CONTEXT_TURNS);
  return contextWindow(
    history.map((turn) => ({ role: turn.role, text: turn.content })),
    charBudget,
  );
}
