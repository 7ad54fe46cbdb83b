/**
 * The rules of files in prompts that need no page: how many a prompt takes, when a prompt may be
 * sent, how a file is named on screen, what an upload's error says. Nothing of the page imported, so
 * that the unit tests run them in Node (contract.ts's StoredFile fits these shapes).
 */
import { formatSize } from '../../src/shared/byte-size.js';

/** API.md: a prompt carries at most 10 files. */
export const MAX_ATTACHMENTS = 10;

/** What these rules read of a stored file. */
export interface FileFacts {
  name: string;
  mimeType: string;
  sizeBytes: number;
  deleted: boolean;
}

/** A file waiting in the composer: still uploading, stored (ready to send), or refused. */
export type PendingState = 'uploading' | 'uploaded' | 'failed';

/**
 * How many of `offered` new files fit beside the ones already kept (refused uploads take no
 * place: they will not be sent), and what to say about the rest.
 */
export function admitFiles(kept: number, offered: number): { admitted: number; refusal: string | undefined } {
  const admitted = Math.max(0, Math.min(offered, MAX_ATTACHMENTS - kept));
  const left = offered - admitted;
  if (left === 0) return { admitted, refusal: undefined };
  return {
    admitted,
    refusal: `A prompt takes at most ${MAX_ATTACHMENTS} files: ${left === 1 ? '1 file was' : `${left} files were`} not added.`,
  };
}

/** A prompt goes once every upload has ended, with text or at least one stored file, and not too many (API.md). */
export function maySend(text: string, states: readonly PendingState[]): boolean {
  if (states.includes('uploading')) return false;
  const stored = states.filter((state) => state === 'uploaded').length;
  return stored <= MAX_ATTACHMENTS && (text.trim() !== '' || stored > 0);
}

/**
 * Whether a paste attaches its files. Copying an image gives files and no plain text; copying cells
 * of a spreadsheet gives their text and a picture of them too, and then the text is what was meant.
 */
export const pasteAttaches = (types: readonly string[], fileCount: number) => fileCount > 0 && !types.includes('text/plain');

/** Images the browser draws inline; the others (HEIC, say) are shown as a file to download. */
export const showsAsImage = (mimeType: string) => /^image\/(png|jpeg|webp|gif|avif)$/i.test(mimeType);

/**
 * The files a branch shows, as one string: their ids, deleted files left out (those show by name
 * only). It changes when a file comes into view or leaves it (another chat, another branch, a file
 * deleted), never with a reply's text: the log gives back the memory of images it no longer shows
 * (file-links.tsx releaseHiddenImages) when it changes, not on each streamed frame.
 */
export const shownFilesKey = (messages: readonly { attachments: readonly { id: string; deleted: boolean }[] }[]): string =>
  messages.flatMap((message) => message.attachments.filter((file) => !file.deleted).map((file) => file.id)).join(' ');

/** The short name of a type on a chip: "PNG", "PDF", "MP3"… or the type itself when unknown. */
export function typeBadge(mimeType: string): string {
  const known: Record<string, string> = {
    'application/pdf': 'PDF',
    'audio/mpeg': 'MP3',
    'text/plain': 'TXT',
    'text/markdown': 'MD',
    'text/csv': 'CSV',
  };
  const subtype = mimeType.split('/')[1] ?? '';
  return known[mimeType.toLowerCase()] ?? (/^[a-z0-9.+-]{1,6}$/i.test(subtype) ? subtype.toUpperCase() : 'FILE');
}

/** A file as the conversation names it: "cat.png (image/png, 1.2 KiB)", or "cat.png (deleted)". */
export const fileSummary = (file: FileFacts) =>
  file.deleted ? `${file.name} (deleted)` : `${file.name} (${file.mimeType || 'unknown type'}, ${formatSize(file.sizeBytes)})`;

/** The words for a failed upload: the problem's `detail` (API.md), else what the status line says. */
export function uploadFailure(status: number, responseText: string): string {
  if (status === 0) return 'The upload did not reach the server: check the connection and try again.';
  try {
    const problem = JSON.parse(responseText) as { detail?: unknown; title?: unknown };
    if (typeof problem.detail === 'string' && problem.detail) return problem.detail;
    if (typeof problem.title === 'string' && problem.title) return problem.title;
  } catch {
    // Not a problem document (a proxy's error page, say): the status says enough.
  }
  return `The server answered ${status}`;
}

/** The file storage line under the allowance: "1.2 MiB of 100 MiB of file storage used". */
export const storageLine = ({ usedBytes, limitBytes }: { usedBytes: number; limitBytes: number }) =>
  `${formatSize(usedBytes)} of ${formatSize(limitBytes)} of file storage used`;
