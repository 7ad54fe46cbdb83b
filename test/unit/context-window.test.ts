import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { contextWindow as windowOf, type WindowTurn } from '../../src/modules/generation/context-window.js';

type Turn = WindowTurn<string>;
const turn = (role: Turn['role'], text: string, files: string[] = []): Turn => ({ role, text, files });
/** The window's turns when each turn costs its characters (the tests below were written for a character budget). */
const contextWindow = (newestFirst: Turn[], budget: number) => windowOf(newestFirst, budget, (t) => t.text.length).turns;

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

describe('context window edges', () => {
  it('sends the prompt alone when there is no history', () => {
    expect(contextWindow([turn('user', 'hello')], 10)).toEqual([turn('user', 'hello')]);
  });

  it('keeps a turn that fills the budget exactly, and cuts the one that would pass it', () => {
    const newestFirst = [turn('user', 'x'.repeat(4)), turn('model', 'y'.repeat(3)), turn('user', 'z'.repeat(3))];
    expect(contextWindow(newestFirst, 10).map((t) => t.text)).toEqual(['zzz', 'yyy', 'xxxx']);
    expect(contextWindow(newestFirst, 9).map((t) => t.text)).toEqual(['xxxx']);
  });

  it('never skips a long turn to fit an older one: the window is the newest turns, unbroken', () => {
    const newestFirst = [turn('user', 'now'), turn('model', 'a very long answer'), turn('user', 'q')];
    expect(contextWindow(newestFirst, 10)).toEqual([turn('user', 'now')]);
  });

  it('leaves the caller’s turns as they were (joining works on copies)', () => {
    const newestFirst = [turn('user', 'again'), turn('user', 'first')];
    contextWindow(newestFirst, 100);
    expect(newestFirst).toEqual([turn('user', 'again'), turn('user', 'first')]);
  });

  it('for any alternating history: the newest turns within budget, oldest first, starting with a user turn', () => {
    const history = fc
      .array(fc.string({ maxLength: 40 }), { minLength: 1, maxLength: 30 })
      .map((texts) => texts.map((text, i): Turn => ({ role: i % 2 === 0 ? 'user' : 'model', text, files: [] })));
    fc.assert(
      fc.property(history, fc.integer({ min: 0, max: 400 }), (newestFirst, budget) => {
        const window = contextWindow(newestFirst, budget);
        expect(window[0]?.role).toBe('user');
        expect(window.at(-1)).toEqual(newestFirst[0]);
        window.forEach((t, i) => expect(t.role).toBe(i % 2 === 0 ? 'user' : 'model'));
        // The window is the newest `window.length` turns, in the order they were said.
        expect(window).toEqual(newestFirst.slice(0, window.length).reverse());
        const chars = window.reduce((sum, t) => sum + t.text.length, 0);
        if (window.length > 1) expect(chars).toBeLessThanOrEqual(budget);
        // And nothing that would have fit was left out (one more turn, and a user one before it, pass the budget or do not exist).
        const next = newestFirst.slice(window.length, window.length + 2);
        if (next.length === 2) expect(chars + next[0]!.text.length + next[1]!.text.length).toBeGreaterThan(budget);
      }),
      { seed: 42 },
    );
  });
});

describe('context window with files, counted in tokens', () => {
  // A file costs what its name says after the colon; text costs nothing here.
  const costOf = (t: Turn) => t.files.reduce((sum, file) => sum + Number(file.split(':')[1]), 0);

  it('drops the oldest turns whole, with their files, and says the context was cut', () => {
    const newestFirst = [turn('user', 'and this one?', ['c.pdf:400']), turn('model', 'it says…'), turn('user', 'what is in it?', ['b.pdf:400']), turn('model', 'ok'), turn('user', 'read', ['a.pdf:400'])];
    const window = windowOf(newestFirst, 1000, costOf);
    expect(window.turns.map((t) => t.files)).toEqual([['b.pdf:400'], [], ['c.pdf:400']]);
    expect(window.truncated).toBe(true);
  });

  it('keeps the new prompt with all its files even when they alone pass the budget, and says nothing was cut when the path was that prompt', () => {
    const window = windowOf([turn('user', '', ['huge.pdf:5000', 'more.pdf:5000'])], 1000, costOf);
    expect(window.turns).toEqual([turn('user', '', ['huge.pdf:5000', 'more.pdf:5000'])]);
    expect(window.truncated).toBe(false);
  });

  it('carries the files of a prompt whose reply failed into the prompt it is joined to', () => {
    const window = windowOf([turn('user', 'again', ['b.png:1']), turn('user', '', ['a.png:1'])], 1000, costOf);
    expect(window.turns).toEqual([turn('user', 'again', ['a.png:1', 'b.png:1'])]);
    expect(window.truncated).toBe(false);
  });
});
