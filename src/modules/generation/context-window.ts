import type { ChatTurn } from '../../integrations/gemini/model.js';

/**
 * The turns to send, oldest first, from `newestFirst` (the prompt itself first). The newest turns
 * are kept first, until adding the next would pass `charBudget`; the prompt is always kept. The
 * window starts with a user turn and alternates roles, as Gemini expects: a prompt whose reply failed
 * is joined to the next prompt.
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
  const alternating: ChatTurn[] = [];
  for (const turn of kept.reverse()) {
    const previous = alternating.at(-1);
    if (previous?.role === turn.role) previous.text = `${previous.text}\n\n${turn.text}`;
    else alternating.push({ ...turn });
  }
  return alternating;
}
