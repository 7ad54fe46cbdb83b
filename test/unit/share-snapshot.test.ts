import { describe, expect, it } from 'vitest';
import type { FileRow } from '../../src/modules/files/file.repository.js';
import type { MessageRow } from '../../src/modules/replies/reply-state.js';
import { messageRow } from './fakes/message-row.js';
import { fileIdsOf, snapshotOf } from '../../src/modules/shares/share-snapshot.js';
import { continueUrl, shareToFork } from '../../web/src/share-rules.js';

const at = new Date('2026-12-05T10:00:00.000Z');
let next = 0;

function row(role: 'user' | 'model', parentId: string | null, overrides: Partial<MessageRow> = {}): MessageRow {
  next += 1;
  return messageRow({
    id: `m${next}`,
    seq: next,
    userId: 'owner',
    parentId,
    role,
    content: `${role} ${next}`,
    thoughts: role === 'model' ? 'private thoughts' : null,
    finishReason: role === 'model' ? 'STOP' : null,
    createdAt: at,
    updatedAt: at,
    completedAt: at,
    ...overrides,
  });
}

/** A path of exchanges, each reply with the status given. */
function pathOf(...replies: MessageRow['status'][]): MessageRow[] {
  const path: MessageRow[] = [];
  for (const status of replies) {
    const prompt = row('user', path.at(-1)?.id ?? null);
    path.push(prompt, row('model', prompt.id, { status }));
  }
  return path;
}

describe('share snapshots', () => {
  it('keeps each prompt with its finished reply, and drops an exchange whose reply failed or is unfinished, prompt included', () => {
    const path = pathOf('done', 'failed', 'done', 'streaming');
    const snapshot = snapshotOf(path, new Map());
    expect(snapshot.map((message) => message.id)).toEqual([path[0]?.id, path[1]?.id, path[4]?.id, path[5]?.id]);
    expect(snapshot.map((message) => message.role)).toEqual(['user', 'model', 'user', 'model']);
    expect(snapshotOf(pathOf('pending'), new Map())).toEqual([]);
    expect(snapshotOf([], new Map())).toEqual([]);
  });

  it('copies content, files, grounding and time; never thoughts, usage or status', () => {
    const grounding = { queries: ['q'], sources: [], citations: [], searchEntryPoint: null };
    const path = pathOf('done');
    path[1] = { ...(path[1] as MessageRow), grounding, promptTokens: 12 };
    const files = new Map([[path[0]?.id ?? '', [{ id: 'f1' }, { id: 'f2' }] as FileRow[]]]);
    const [prompt, reply] = snapshotOf(path, files);
    expect(prompt).toEqual({ id: path[0]?.id, role: 'user', content: path[0]?.content, fileIds: ['f1', 'f2'], grounding: null, finishReason: null, createdAt: at.toISOString() });
    expect(reply).toEqual({ id: path[1]?.id, role: 'model', content: path[1]?.content, fileIds: [], grounding, finishReason: 'STOP', createdAt: at.toISOString() });
    expect(JSON.stringify([prompt, reply])).not.toContain('private thoughts');
    expect(fileIdsOf([prompt, reply, { ...(prompt as NonNullable<typeof prompt>), fileIds: ['f2', 'f3'] }].filter((m) => m !== undefined))).toEqual(['f1', 'f2', 'f3']);
  });

  it('the chat page forks only a plausible share id from its address', () => {
    const id = 'AbCdEfGhIjKlMnOpQrSt_-';
    expect(continueUrl(id)).toBe(`/?fork=${id}`);
    expect(shareToFork(`?fork=${id}`)).toBe(id);
    expect(shareToFork('?fork=../../chatroom')).toBeUndefined();
    expect(shareToFork('?other=1')).toBeUndefined();
  });
});
