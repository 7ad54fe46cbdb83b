import type { Content, GoogleGenAI } from '@google/genai';
import { asCaller } from './caller-failure.js';
import { planFiles } from './file-plan.js';
import { uploadToFilesApi } from './gemini-files-api.js';
import { toContents } from './gemini-parts.js';
import type { ChatTurn, ModelFileContent, RemoteFile } from './model.js';

export interface PreparedContents {
  contents: Content[];
  /** Files sent as a Files API copy an earlier call made (not uploaded by this one). */
  reused: ModelFileContent[];
}

/**
 * The contents of one generate request, with the uploads it needs done and remembered for later calls.
 * `distrusted` files are planned as if they had no remembered copy.
 */
export async function prepareContents(
  ai: GoogleGenAI,
  turns: ChatTurn[],
  { inlineMaxBytes, signal, distrusted }: { inlineMaxBytes: number; signal: AbortSignal; distrusted?: ReadonlySet<ModelFileContent> },
): Promise<PreparedContents> {
  const plan = planFiles(turns, { inlineMaxBytes, now: new Date(), ...(distrusted ? { distrusted } : {}) });
  const remotes = new Map<ModelFileContent, RemoteFile>(plan.reuse);
  // One at a time: uploads share the call's deadline, and a failure stops the rest.
  for (const [content, file] of plan.upload) {
    const blob = await asCaller(() => content.blob());
    const remote = await uploadToFilesApi(ai, file, blob, signal);
    await asCaller(() => content.rememberRemote(remote));
    remotes.set(content, remote);
  }
  return { contents: await toContents(turns, plan, remotes), reused: [...plan.reuse.keys()] };
}
