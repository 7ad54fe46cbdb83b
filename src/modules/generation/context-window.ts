import type { ChatTurn } from '../../integrations/gemini/model.js';

/**
 * The turns to send, oldest first, from `newestFirst` (the prompt itself first). The newest turns
 * are kept first, until adding the next would pass `charBudget`; the prompt is always kept. The
 * window starts with a user turn, as Gemini expects.
 */
export function contextWindow(newestFirst: ChatTurn[], charBudget: number): ChatTurn[] {
  const kept: ChatTurn[] = [];
  let used = 0;
  for (const turn of newestFirst) {
    if (kept.length > 0 && used + turn.text.length > charBudget) break;
    kept.push(turn);
    used += turn.text.length;
  }
  while (kept.length > 1 && kept.at(-1)?.role === 'model') kept.pop();
  return kept.reverse();
}
