/** What Gemini reads a file as; each family has its own token cost and its own part in a prompt. */
export type FileFamily = 'image' | 'pdf' | 'audio' | 'text';

/** What the bytes tell about a file, where the format says it cheaply; absent when unknown. */
export interface FileFacts {
  width?: number;
  height?: number;
  pages?: number;
  durationSeconds?: number;
}

/**
 * The verdict on a file's bytes. `recognised` names what a refused file is, for the caller's 415
 * message: a MIME type where there is one ('application/zip'), else a phrase ('a truncated PNG').
 */
export type Recognition =
  | { kind: 'accepted'; mimeType: string; family: FileFamily; facts: FileFacts }
  | { kind: 'refused'; recognised: string };

export const refused = (recognised: string): Recognition => ({ kind: 'refused', recognised });

export const accepted = (mimeType: string, family: FileFamily, facts: FileFacts = {}): Recognition => ({
  kind: 'accepted',
  mimeType,
  family,
  facts,
});
