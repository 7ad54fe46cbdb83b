import { describe, expect, it } from 'vitest';
import { tidyTitle } from '../../src/integrations/gemini/model.js';

/* A chatroom's generated title, as the chat list shows it: one tidy line that fits. */

describe('tidying a proposed title', () => {
  it('makes one line of it, without the quotes, markdown or full stop models like to add', () => {
    expect(tidyTitle('  "Trip to Goa:\n  a plan."  ', 60)).toBe('Trip to Goa: a plan');
    expect(tidyTitle('## **Budget review**', 60)).toBe('Budget review');
    expect(tidyTitle("'Weekend hike'", 60)).toBe('Weekend hike');
  });

  it('leaves a title that fits as it is', () => {
    expect(tidyTitle('Weekend hike', 12)).toBe('Weekend hike');
  });

  it('cuts a long title at a word and marks the cut, within the limit', () => {
    const title = tidyTitle('Planning a two week trip through the mountains of northern India', 30);
    expect(title).toBe('Planning a two week trip…');
    expect(title.length).toBeLessThanOrEqual(30);
  });

  it('cuts inside a word when there is no space in its second half', () => {
    const title = tidyTitle('Supercalifragilisticexpialidocious', 10);
    expect(title).toBe('Supercali…');
  });
});
