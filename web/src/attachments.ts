/**
 * The files of the prompt being written: offered by the Attach button, by dropping them on the chat
 * or by pasting them (composer.tsx); each uploads at once (upload.ts) and waits in the composer as a
 * thumbnail or a chip, with its progress, its error, and a button to remove it.
 */
import { fetchWithToken, SessionEnded } from './api';
import { admitFiles, showsAsImage, type PendingState } from './attachment-rules';
import { showAllowance } from './allowance';
import type { StoredFile } from './contract';
import { describe, report } from './report';
import { createStore } from './store';
import { uploadFile, type Upload } from './upload';

export interface Pending {
  /** Its key in the composer's list. */
  id: number;
  file: File;
  /** A local object URL of the file, for an image's thumbnail before (and while) it uploads. */
  preview: string | undefined;
  state: PendingState;
  progress: number;
  upload: Upload | undefined;
  stored: StoredFile | undefined;
  error: string | undefined;
}

/** Files taken out of the composer by a send, given back if it did not go (settleAttachments). */
export interface TakenAttachments {
  ids: string[];
  items: Pending[];
}

/** The files in the composer; a new list at every change (an item's progress too), for the views. */
export const pendingFiles = createStore<readonly Pending[]>([]);
/** What the composer's status line says to a screen reader about the files. */
export const filesStatus = createStore('');

let pending: Pending[] = [];
let lastId = 0;

export const announce = (text: string) => filesStatus.set(text);

const changed = () => pendingFiles.set([...pending]);

export const attachmentStates = (files: readonly Pending[] = pending): PendingState[] => files.map((item) => item.state);

// ---- one file ----------------------------------------------------------------------------------

function release(item: Pending) {
  if (item.preview) URL.revokeObjectURL(item.preview);
  item.preview = undefined;
}

/** A stored file that will not be sent: deleted now rather than left to the server's clean-up. */
function forget(stored: StoredFile) {
  void fetchWithToken(`/files/${encodeURIComponent(stored.id)}`, { method: 'DELETE' })
    .then(() => showAllowance())
    .catch(() => undefined);
}

function add(file: File) {
  const item: Pending = {
    id: (lastId += 1),
    file,
    preview: showsAsImage(file.type) ? URL.createObjectURL(file) : undefined,
    state: 'uploading',
    progress: 0,
    upload: undefined,
    stored: undefined,
    error: undefined,
  };
  const upload = uploadFile(file, (fraction) => {
    item.progress = fraction;
    if (pending.includes(item)) changed();
  });
  item.upload = upload;
  pending.push(item);
  upload.done.then(
    (stored) => {
      // Removed while its last bytes were on their way: the server kept it all the same.
      if (!pending.includes(item)) return forget(stored);
      item.state = 'uploaded';
      item.stored = stored;
      announce(`${stored.name} is attached.`);
      void showAllowance().catch(() => undefined); // the storage used grew
      changed();
    },
    (error: unknown) => {
      if (!pending.includes(item) || error instanceof SessionEnded) return;
      item.state = 'failed';
      item.error = describe(error);
      announce(`${file.name} could not be attached: ${item.error}`);
      changed();
    },
  );
}

/** Takes a file out of the prompt: its upload stops, or the stored file is deleted. */
export function removeAttachment(item: Pending): void {
  pending = pending.filter((other) => other !== item);
  item.upload?.abort();
  if (item.stored) forget(item.stored);
  release(item);
  changed();
  announce(`${item.stored?.name ?? item.file.name} removed.`);
}

/** Files offered by the button, a drop or a paste: as many as the prompt still takes. */
export function offerFiles(files: File[]): void {
  if (files.length === 0) return;
  const kept = pending.filter((item) => item.state !== 'failed').length;
  const { admitted, refusal } = admitFiles(kept, files.length);
  if (refusal) report(refusal);
  files.slice(0, admitted).forEach(add);
  if (admitted > 0) announce(admitted === 1 ? `Uploading ${files[0]?.name ?? 'a file'}…` : `Uploading ${admitted} files…`);
  changed();
}

// ---- a send ------------------------------------------------------------------------------------

/** Empties the composer for a send: the stored files' ids, and what to give back if it fails. */
export function takeAttachments(): TakenAttachments {
  const items = pending;
  pending = [];
  changed();
  return { ids: items.flatMap((item) => (item.stored ? [item.stored.id] : [])), items };
}

/** After a send: sent files leave the composer for good; unsent ones come back, to send again. */
export function settleAttachments(taken: TakenAttachments, sent: boolean): void {
  if (!sent) {
    pending = [...taken.items, ...pending];
    changed();
    return;
  }
  taken.items.forEach(release);
}

/** Signed out: nothing of this session's prompt stays for the next one. */
export function discardAttachments(): void {
  for (const item of pending) {
    item.upload?.abort();
    release(item);
  }
  pending = [];
  changed();
}
