import { describe, expect, it } from 'vitest';
import { allowanceLine, quotaNotice } from '../../web/src/allowance-line.js';
import { exportFileName, placeMessage, resumeFor, statusNote, type BranchMessage, type Resume } from '../../web/src/conversation-rules.js';

/* The chat page's rules that need no browser (its behaviour in a browser: test/chat-page.browser.test.ts). */

const message = (id: string, fields: Partial<BranchMessage> = {}): BranchMessage => ({
  id,
  role: 'model',
  status: 'done',
  content: 'Hello!',
  parentId: null,
  finishReason: 'STOP',
  error: null,
  ...fields,
});

describe('the note under a message', () => {
  it('is none for a prompt or a reply that finished', () => {
    expect(statusNote(message('p', { role: 'user', status: 'failed' }))).toBeUndefined();
    expect(statusNote(message('r'))).toBeUndefined();
  });

  it("says why a reply failed, in the API's words, or that the model did not reply", () => {
    expect(statusNote(message('r', { status: 'failed', error: { message: 'The model is overloaded' } }))).toBe('Failed: The model is overloaded');
    expect(statusNote(message('r', { status: 'failed', error: null }))).toBe('Failed: the model did not reply');
  });

  it('says Stopped for a reply the user stopped, and Thinking… while no text has come', () => {
    expect(statusNote(message('r', { finishReason: 'STOPPED', content: 'Half an ans' }))).toBe('Stopped');
    expect(statusNote(message('r', { status: 'pending', content: '', finishReason: null }))).toBe('Thinking…');
    expect(statusNote(message('r', { status: 'streaming', content: 'Once upon', finishReason: null }))).toBeUndefined();
  });
});

describe('placing a streamed message in the branch', () => {
  const branch = [message('p1', { role: 'user' }), message('r1', { parentId: 'p1' }), message('p2', { role: 'user', parentId: 'r1' }), message('r2', { parentId: 'p2' })];
  const ids = (messages: BranchMessage[]) => messages.map((m) => m.id);

  it('appends a new prompt after the last reply', () => {
    expect(ids(placeMessage(branch, message('p3', { role: 'user', parentId: 'r2' })))).toEqual(['p1', 'r1', 'p2', 'r2', 'p3']);
  });

  it('puts an edited prompt after its parent and drops the branch it replaces', () => {
    expect(ids(placeMessage(branch, message('p2b', { role: 'user', parentId: 'r1' })))).toEqual(['p1', 'r1', 'p2b']);
  });

  it('starts over with an edited first prompt (no parent)', () => {
    expect(ids(placeMessage(branch, message('p1b', { role: 'user', parentId: null })))).toEqual(['p1b']);
  });

  it('replaces a message it already shows instead of showing it twice', () => {
    const updated = placeMessage(branch, message('r2', { parentId: 'p2', content: 'Updated' }));
    expect(ids(updated)).toEqual(['p1', 'r1', 'p2', 'r2']);
    expect(updated.at(-1)?.content).toBe('Updated');
  });

  it('leaves the branch it was given untouched', () => {
    placeMessage(branch, message('p2b', { role: 'user', parentId: 'r1' }));
    expect(ids(branch)).toEqual(['p1', 'r1', 'p2', 'r2']);
  });
});

describe('resuming a reply after a reload', () => {
  const saved: Resume = { chatroomId: 'c1', replyId: 'r1', lastEventId: '17', text: 'Once upon a' };

  it('continues our own stream after its last event, with the text so far', () => {
    expect(resumeFor(saved, 'c1', 'r1')).toBe(saved);
  });

  it('follows any other open reply from its start', () => {
    const fresh = { lastEventId: undefined, text: '' };
    expect(resumeFor(saved, 'c1', 'r9')).toEqual({ chatroomId: 'c1', replyId: 'r9', ...fresh });
    expect(resumeFor(saved, 'c2', 'r1')).toEqual({ chatroomId: 'c2', replyId: 'r1', ...fresh });
    expect(resumeFor(undefined, 'c1', 'r1')).toEqual({ chatroomId: 'c1', replyId: 'r1', ...fresh });
  });
});

describe('the export file name', () => {
  it("is the server's, quoted or not", () => {
    expect(exportFileName('attachment; filename="Trip to Goa.md"', 'markdown')).toBe('Trip to Goa.md');
    expect(exportFileName('attachment; filename=chat-1.json; size=12', 'json')).toBe('chat-1.json');
  });

  it('is chat.md or chat.json when the server names none', () => {
    expect(exportFileName(null, 'markdown')).toBe('chat.md');
    expect(exportFileName('attachment', 'json')).toBe('chat.json');
  });
});

describe('the allowance line in the header', () => {
  it('says what is left today and the reset time, 24-hour, in the reader’s zone', () => {
    const usage = { remaining: 3, limit: 5, resetsAt: '2026-03-10T00:00:00.000Z' };
    expect(allowanceLine(usage, 'UTC')).toBe('3 of 5 prompts left today · resets at 00:00');
    expect(allowanceLine(usage, 'Asia/Kolkata')).toBe('3 of 5 prompts left today · resets at 05:30');
  });

  it('says 0 left rather than nothing, and Unlimited for Pro without a limit', () => {
    expect(allowanceLine({ remaining: null, limit: 5, resetsAt: '2026-03-10T00:00:00.000Z' }, 'UTC')).toMatch(/^0 of 5 prompts left/);
    expect(allowanceLine({ remaining: null, limit: null, resetsAt: '2026-03-10T00:00:00.000Z' })).toBe('Unlimited prompts');
  });
  it('explains a spent allowance with the reset in the reader’s clock, and offers Pro to Basic only', () => {
    const spent = { remaining: 0, limit: 5, resetsAt: '2026-03-10T00:00:00.000Z' };
    expect(quotaNotice('basic', spent, 'Asia/Kolkata')).toBe(
      "You have used today's 5 prompts on the Basic plan; they come back at 05:30. Upgrade to Pro for a much larger allowance.",
    );
    expect(quotaNotice('pro', { ...spent, limit: 1000 }, 'UTC')).toBe("You have used today's 1000 prompts on the Pro plan; they come back at 00:00.");
  });
});
