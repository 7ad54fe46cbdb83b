/** A turn of the path as the window sees it: who said it, the text, and the files it carries. */
export interface WindowTurn<File> {
  role: 'user' | 'model';
  text: string;
  files: File[];
}

export interface ContextWindow<File> {
  /** Oldest first, alternating roles, starting with a user turn. */
  turns: WindowTurn<File>[];
  /** Some older turn of the path was left out to fit the budget. */
  truncated: boolean;
}

/**
 * The turns to send, oldest first, from `newestFirst` (the prompt itself first). The newest turns
 * are kept, whole, until adding the next would pass `budget` (as `costOf` counts them); the prompt is
 * always kept, and a turn is never cut in half (a file or a message goes whole or not at all). The
 * window starts with a user turn and alternates roles, as Gemini expects: a prompt whose reply failed
 * is joined to the next prompt, its files with it.
 */
export function contextWindow<File>(newestFirst: WindowTurn<File>[], budget: number, costOf: (turn: WindowTurn<File>) => number): ContextWindow<File> {
  const kept: WindowTurn<File>[] = [];
  let used = 0;
  for (const turn of newestFirst) {
    const cost = costOf(turn);
    if (kept.length > 0 && used + cost > budget) break;
    kept.push(turn);
    used += cost;
  }
  const truncated = kept.length < newestFirst.length;
  // A reply whose prompt did not fit says nothing on its own.
  while (kept.length > 1 && kept.at(-1)?.role === 'model') kept.pop();
  const alternating: WindowTurn<File>[] = [];
  for (const turn of kept.reverse()) {
    const previous = alternating.at(-1);
    if (previous?.role === turn.role) {
      previous.text = [previous.text, turn.text].filter(Boolean).join('\n\n');
      previous.files = [...previous.files, ...turn.files];
    } else alternating.push({ ...turn });
  }
  return { turns: alternating, truncated };
}
