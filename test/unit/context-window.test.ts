import { describe, expect, it } from 'vitest';
import { contextWindow } from '../../src/modules/generation/context-window.js';
import type { ChatTurn } from '../../src/integrations/gemini/model.js';

const turn = (role: ChatTurn['role'], text: string): ChatTurn => ({ role, text });

describe('context window', () => {
  it('keeps the newest turns within the budget and returns them oldest first', () => {
    const newestFirst = [turn('user', 'c'.repeat(10)), turn('model', 'b'.repeat(10)), turn('user', 'a'.repeat(10)), turn('model', 'z'.repeat(10))];
    expect(contextWindow(newestFirst, 30).map((t) => t.text[0])).toEqual(['a', 'b', 'c']);
  });

  it('always keeps the prompt, even over budget', () => {
    expect(contextWindow([turn('user', 'x'.repeat(500)), turn('model', 'y')], 100)).toEqual([turn('user', 'x'.repeat(500))]);
  });

  it('joins consecutive turns of one role, so roles alternate (a prompt whose reply failed)', () => {
    const newestFirst = [turn('user', 'try again'), turn('user', 'first try'), turn('model', 'hello'), turn('user', 'hi')];
    expect(contextWindow(newestFirst, 1000)).toEqual([turn('user', 'hi'), turn('model', 'hello'), turn('user', 'first try\n\ntry again')]);
  });

  it('starts the window with a user turn', () => {
    const newestFirst = [turn('user', 'now'), turn('model', 'answer'), turn('user', 'q'), turn('model', 'orphan')];
    expect(contextWindow(newestFirst, 1000).map((t) => t.role)).toEqual(['user', 'model', 'user']);
  });
});
