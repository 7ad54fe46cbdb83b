import type { ChatTurn, ModelFile, ModelFileContent, RemoteFile } from './model.js';

/**
 * How each binary file of one request reaches Gemini. Text files (sent as text parts) and deleted
 * files (a note) are not in it.
 */
export interface FilePlan {
  /** Sent in the request as inlineData. */
  inline: Set<ModelFileContent>;
  /** Sent as fileData, pointing at the Files API copy an earlier call made. */
  reuse: Map<ModelFileContent, RemoteFile>;
  /** Uploaded to the Files API first (largest first), then sent as fileData. */
  upload: Map<ModelFileContent, ModelFile>;
}

/** A remembered copy this close to its expiry is not trusted to outlive the call. */
export const REMOTE_EXPIRY_MARGIN_MS = 60_000;

export const isTextFile = (file: Pick<ModelFile, 'mimeType'>): boolean => file.mimeType.startsWith('text/');

/** The length of `sizeBytes` bytes in base64, which is what inlineData costs in the request. */
export const base64Length = (sizeBytes: number): number => 4 * Math.ceil(sizeBytes / 3);

export function usableRemote(file: ModelFile, now: Date): RemoteFile | null {
  const remote = file.content?.remote ?? null;
  if (!remote || remote.mimeType !== file.mimeType) return null;
  return remote.expiresAt.getTime() - now.getTime() > REMOTE_EXPIRY_MARGIN_MS ? remote : null;
}

/**
 * The rule, per request:
 * 1. A file with a remembered Files API copy that is still good (same type, more than a minute from
 *    expiry, and not `distrusted`) is sent as that copy: nothing to read or upload.
 * 2. The other files go inline when all their occurrences together fit `inlineMaxBytes` (Gemini's
 *    limit on a request's size): binary files as base64, text files as text parts, each counted at
 *    what it adds to the request.
 * 3. Otherwise the largest go through the Files API, one after another, until the rest fits.
 * A file is keyed by its content, so a file attached to several turns is uploaded once.
 */
export function planFiles(
  turns: ChatTurn[],
  { inlineMaxBytes, now, distrusted = new Set() }: { inlineMaxBytes: number; now: Date; distrusted?: ReadonlySet<ModelFileContent> },
): FilePlan {
  const plan: FilePlan = { inline: new Set(), reuse: new Map(), upload: new Map() };
  const candidates = new Map<ModelFileContent, { file: ModelFile; inlineCost: number }>();
  for (const file of turns.flatMap((turn) => turn.files ?? [])) {
    const content = file.content;
    if (!content) continue;
    const remote = distrusted.has(content) ? null : usableRemote(file, now);
    if (remote) plan.reuse.set(content, remote);
    else {
      const seen = candidates.get(content);
      const cost = isTextFile(file) ? file.sizeBytes : base64Length(file.sizeBytes);
      if (seen) seen.inlineCost += cost;
      else candidates.set(content, { file, inlineCost: cost });
    }
  }
  let total = [...candidates.values()].reduce((sum, { inlineCost }) => sum + inlineCost, 0);
  for (const [content, { file, inlineCost }] of [...candidates].sort(([, a], [, b]) => b.inlineCost - a.inlineCost)) {
    if (total <= inlineMaxBytes) plan.inline.add(content);
    else {
      plan.upload.set(content, file);
      total -= inlineCost;
    }
  }
  return plan;
}
