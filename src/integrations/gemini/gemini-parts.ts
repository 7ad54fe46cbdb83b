import type { Content, Part } from '@google/genai';
import { asCaller } from './caller-failure.js';
import { isTextFile, type FilePlan } from './file-plan.js';
import type { ChatTurn, ModelFile, ModelFileContent, RemoteFile } from './model.js';

/** What stands in for a file its owner deleted: the model knows it was there, and why it cannot see it. */
export const deletedFileNote = (file: Pick<ModelFile, 'name' | 'mimeType'>): string =>
  `[The file "${file.name}" (${file.mimeType}) was deleted by its owner; it is no longer available.]`;

/**
 * The request's contents: each turn's files first, in order, then its text (left out when empty and
 * the turn has files).
 * `remotes` holds the Files API copy of every file the plan does not send inline.
 */
export async function toContents(turns: ChatTurn[], plan: FilePlan, remotes: ReadonlyMap<ModelFileContent, RemoteFile>): Promise<Content[]> {
  const contents: Content[] = [];
  for (const turn of turns) {
    const parts: Part[] = [];
    for (const file of turn.files ?? []) parts.push(await toPart(file, plan, remotes));
    // A turn with neither files nor text keeps its empty text part, as it always had: a content needs a part.
    if (turn.text !== '' || parts.length === 0) parts.push({ text: turn.text });
    contents.push({ role: turn.role, parts });
  }
  return contents;
}

async function toPart(file: ModelFile, plan: FilePlan, remotes: ReadonlyMap<ModelFileContent, RemoteFile>): Promise<Part> {
  const content = file.content;
  if (!content) return { text: deletedFileNote(file) };
  // The name tells the model which file a question is about ("the second CSV").
  const bytes = () => asCaller(() => content.bytes());
  if (plan.inline.has(content)) {
    if (isTextFile(file)) return { text: `--- ${file.name} ---\n${(await bytes()).toString('utf8')}` };
    return { inlineData: { mimeType: file.mimeType, data: (await bytes()).toString('base64') } };
  }
  const remote = remotes.get(content);
  if (!remote) throw new Error(`No Files API copy of "${file.name}" was made for this request`);
  return { fileData: { mimeType: remote.mimeType, fileUri: remote.uri } };
}
