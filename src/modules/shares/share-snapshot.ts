import type { SharedMessageSnapshot } from '../../infra/db/schema.js';
import type { FileRow } from '../files/file.repository.js';
import type { MessageRow } from '../replies/reply-state.js';

/**
 * What a share freezes of a branch: each prompt with its reply, when that reply finished well
 * (`done`, a stopped one included). A prompt whose reply failed, or is still pending or streaming, is
 * left out with it, so a snapshot always alternates prompt, reply, prompt, reply, and a fork of it
 * continues from a reply as any chatroom does. Thoughts, usage, feedback and errors are not copied.
 */
export function snapshotOf(path: MessageRow[], filesOf: ReadonlyMap<string, FileRow[]>): SharedMessageSnapshot[] {
  const snapshot: SharedMessageSnapshot[] = [];
  for (let index = 0; index + 1 < path.length; index += 1) {
    const prompt = path[index];
    const reply = path[index + 1];
    if (!prompt || !reply || prompt.role !== 'user' || reply.role !== 'model' || reply.parentId !== prompt.id) continue;
    index += 1;
    if (reply.status !== 'done') continue;
    snapshot.push(frozen(prompt, (filesOf.get(prompt.id) ?? []).map((file) => file.id)), frozen(reply, []));
  }
  return snapshot;
}

const frozen = (row: MessageRow, fileIds: string[]): SharedMessageSnapshot => ({
  id: row.id,
  role: row.role,
  content: row.content,
  fileIds,
  grounding: row.role === 'model' ? (row.grounding ?? null) : null,
  finishReason: row.role === 'model' ? row.finishReason : null,
  createdAt: row.createdAt.toISOString(),
});

/** Every file a snapshot shows, once each, in order of appearance. */
export const fileIdsOf = (messages: SharedMessageSnapshot[]): string[] => [...new Set(messages.flatMap((message) => message.fileIds))];
