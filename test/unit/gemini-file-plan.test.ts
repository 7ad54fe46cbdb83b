import { describe, expect, it } from 'vitest';
import { planFiles } from '../../src/integrations/gemini/file-plan.js';
import type { ChatTurn, ModelFile, RemoteFile } from '../../src/integrations/gemini/model.js';

const NOW = new Date('2026-03-01T12:00:00Z');

function file(name: string, mimeType: string, sizeBytes: number, remote: RemoteFile | null = null): ModelFile {
  return {
    name,
    mimeType,
    sizeBytes,
    content: { bytes: () => Promise.resolve(Buffer.alloc(0)), blob: () => Promise.resolve(new Blob([])), remote, rememberRemote: () => Promise.resolve() },
  };
}

const remoteFor = (mimeType: string, msFromNow: number): RemoteFile => ({
  uri: 'https://generativelanguage.googleapis.com/v1beta/files/abc',
  mimeType,
  expiresAt: new Date(NOW.getTime() + msFromNow),
});

const names = (plan: ReturnType<typeof planFiles>, turns: ChatTurn[], route: 'inline' | 'reuse' | 'upload') => {
  const all = turns.flatMap((turn) => turn.files ?? []);
  return all.filter((f) => f.content && (route === 'inline' ? plan.inline.has(f.content) : plan[route].has(f.content))).map((f) => f.name);
};

describe('how files reach Gemini', () => {
  it('sends everything inline while the base64 of all occurrences fits, and counts a repeated file each time', () => {
    const image = file('a.png', 'image/png', 300); // 400 base64 characters
    const fits: ChatTurn[] = [{ role: 'user', text: '', files: [image, image] }];
    expect(names(planFiles(fits, { inlineMaxBytes: 800, now: NOW }), fits, 'inline')).toEqual(['a.png', 'a.png']);
    expect(names(planFiles(fits, { inlineMaxBytes: 799, now: NOW }), fits, 'upload')).toEqual(['a.png', 'a.png']);
  });

  it('leaves deleted files out of the plan, and counts text files at their size: a text too large for the request goes through the Files API', () => {
    const small = file('small.txt', 'text/plain', 500);
    const large = file('large.txt', 'text/plain', 50_000);
    const turns: ChatTurn[] = [{ role: 'user', text: 'x', files: [small, large, { name: 'gone.png', mimeType: 'image/png', sizeBytes: 9, content: null }] }];
    const plan = planFiles(turns, { inlineMaxBytes: 1_024, now: NOW });
    expect(names(plan, turns, 'inline')).toEqual(['small.txt']);
    expect(names(plan, turns, 'upload')).toEqual(['large.txt']);
    expect(plan.reuse.size).toBe(0);
  });

  it('reuses a remembered copy only when it has the same type and more than a minute left', () => {
    const good = file('good.pdf', 'application/pdf', 10, remoteFor('application/pdf', 2 * 60_000));
    const expiring = file('expiring.pdf', 'application/pdf', 10, remoteFor('application/pdf', 30_000));
    const retyped = file('retyped.png', 'image/png', 10, remoteFor('image/jpeg', 3_600_000));
    const turns: ChatTurn[] = [{ role: 'user', text: '', files: [good, expiring, retyped] }];

    const plan = planFiles(turns, { inlineMaxBytes: 1_024, now: NOW });
    expect(names(plan, turns, 'reuse')).toEqual(['good.pdf']);
    expect(names(plan, turns, 'inline')).toEqual(['expiring.pdf', 'retyped.png']);

    const distrusted = planFiles(turns, { inlineMaxBytes: 1_024, now: NOW, distrusted: new Set([good.content!]) });
    expect(names(distrusted, turns, 'reuse')).toEqual([]);
  });
});
