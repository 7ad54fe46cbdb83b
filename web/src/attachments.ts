/**
 * The files of the prompt being written: added by the Attach button, by dropping them on the chat
 * or by pasting them; each uploads at once (upload.ts) and waits in the composer as a thumbnail or
 * a chip, with its progress, its error, and a button to remove it.
 */
import { fetchWithToken, SessionEnded } from './api';
import { admitFiles, formatSize, pasteAttaches, showsAsImage, typeBadge, type PendingState } from './attachment-rules';
import { showAllowance } from './allowance';
import type { StoredFile } from './contract';
import { byId, h } from './dom';
import { describe, report } from './report';
import { uploadFile, type Upload } from './upload';

const composer = byId<HTMLFormElement>('composer');
const input = byId<HTMLTextAreaElement>('message');
const list = byId<HTMLUListElement>('pending-files');
const attachButton = byId<HTMLButtonElement>('attach');
const picker = byId<HTMLInputElement>('file-picker');
const dropZone = byId('chat-pane');
const dropHint = byId('drop-hint');
const status = byId('files-status');

interface Pending {
  file: File;
  /** A local object URL of the file, for an image's thumbnail before (and while) it uploads. */
  preview: string | undefined;
  state: PendingState;
  progress: number;
  upload: Upload | undefined;
  stored: StoredFile | undefined;
  error: string | undefined;
  bar: HTMLProgressElement | undefined;
}

/** Files taken out of the composer by a send, given back if it did not go (settleAttachments). */
export interface TakenAttachments {
  ids: string[];
  items: Pending[];
}

let pending: Pending[] = [];
let changed: () => void = () => undefined;

const announce = (text: string) => {
  status.textContent = text;
};

export const attachmentStates = (): PendingState[] => pending.map((item) => item.state);

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

function showProgress(item: Pending) {
  const { bar } = item;
  if (!bar) return;
  // All bytes sent: the server is still reading them (type, storage), for an unknown while.
  if (item.progress >= 1) bar.removeAttribute('value');
  else bar.value = item.progress;
}

function add(file: File) {
  const item: Pending = {
    file,
    preview: showsAsImage(file.type) ? URL.createObjectURL(file) : undefined,
    state: 'uploading',
    progress: 0,
    upload: undefined,
    stored: undefined,
    error: undefined,
    bar: undefined,
  };
  const upload = uploadFile(file, (fraction) => {
    item.progress = fraction;
    showProgress(item);
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
      settled();
    },
    (error: unknown) => {
      if (!pending.includes(item) || error instanceof SessionEnded) return;
      item.state = 'failed';
      item.error = describe(error);
      announce(`${file.name} could not be attached: ${item.error}`);
      settled();
    },
  );
}

function settled() {
  draw();
  changed();
}

function remove(item: Pending) {
  const at = pending.indexOf(item);
  pending = pending.filter((other) => other !== item);
  item.upload?.abort();
  if (item.stored) forget(item.stored);
  release(item);
  settled();
  announce(`${item.stored?.name ?? item.file.name} removed.`);
  // Focus stays in the list (the next file's remove button), or goes back to the Attach button.
  const next = list.querySelectorAll<HTMLButtonElement>('button.remove')[Math.min(at, pending.length - 1)];
  (next ?? attachButton).focus();
}

// ---- the composer's list -----------------------------------------------------------------------

function chip(item: Pending): HTMLElement {
  const name = item.stored?.name ?? item.file.name;
  const type = item.stored?.mimeType ?? item.file.type;
  const size = item.stored?.sizeBytes ?? item.file.size;
  const badge = () => h('span', { class: 'badge', 'aria-hidden': 'true' }, typeBadge(type));
  let look: HTMLElement = badge();
  if (item.preview) {
    const picture = h('img', { class: 'thumbnail', src: item.preview, alt: name });
    // A type the browser cannot draw after all (it said image/…): the chip then.
    picture.addEventListener('error', () => picture.replaceWith(badge()), { once: true });
    look = picture;
  }
  item.bar = undefined;
  if (item.state === 'uploading') {
    item.bar = h('progress', { max: 1, 'aria-label': `Uploading ${name}` });
    showProgress(item);
  }
  return h(
    'li',
    { class: `pending-file ${item.state}` },
    look,
    h(
      'span',
      { class: 'file-facts' },
      h('span', { class: 'file-name', title: name }, name),
      h('span', { class: 'file-meta' }, [type, formatSize(size)].filter(Boolean).join(' · ')),
      item.bar,
      item.state === 'failed' && h('span', { class: 'file-error' }, item.error ?? 'The upload failed'),
    ),
    h('button', { type: 'button', class: 'icon remove', 'aria-label': `Remove ${name}`, title: 'Remove', onclick: () => remove(item) }, '✕'),
  );
}

function draw() {
  list.hidden = pending.length === 0;
  list.replaceChildren(...pending.map(chip));
}

/** Files offered by the button, a drop or a paste: as many as the prompt still takes. */
function offer(files: File[]) {
  if (files.length === 0) return;
  const kept = pending.filter((item) => item.state !== 'failed').length;
  const { admitted, refusal } = admitFiles(kept, files.length);
  if (refusal) report(refusal);
  files.slice(0, admitted).forEach(add);
  if (admitted > 0) announce(admitted === 1 ? `Uploading ${files[0]?.name ?? 'a file'}…` : `Uploading ${admitted} files…`);
  settled();
}

// ---- a send ------------------------------------------------------------------------------------

/** Empties the composer for a send: the stored files' ids, and what to give back if it fails. */
export function takeAttachments(): TakenAttachments {
  const items = pending;
  pending = [];
  settled();
  return { ids: items.flatMap((item) => (item.stored ? [item.stored.id] : [])), items };
}

/** After a send: sent files leave the composer for good; unsent ones come back, to send again. */
export function settleAttachments(taken: TakenAttachments, sent: boolean): void {
  if (!sent) {
    pending = [...taken.items, ...pending];
    settled();
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
  settled();
}

// ---- the ways in -------------------------------------------------------------------------------

const carriesFiles = (event: DragEvent) => event.dataTransfer?.types.includes('Files') ?? false;
const intoComposer = (event: Event) => !composer.hidden && event.target instanceof Node && dropZone.contains(event.target);

function wireDropping() {
  // Entering and leaving children fire enter/leave pairs: the hint is up while any is open.
  let depth = 0;
  const hint = (shown: boolean) => {
    if (shown && dropHint.hidden) announce('Drop the files to attach them to your prompt.');
    dropHint.hidden = !shown;
  };
  dropZone.addEventListener('dragenter', (event) => {
    if (!carriesFiles(event) || composer.hidden) return;
    depth += 1;
    hint(true);
  });
  dropZone.addEventListener('dragleave', (event) => {
    if (!carriesFiles(event) || composer.hidden) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) hint(false);
  });
  // Anywhere on the page, a dropped file must not replace the page with itself.
  document.addEventListener('dragover', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = intoComposer(event) ? 'copy' : 'none';
  });
  document.addEventListener('drop', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth = 0;
    hint(false);
    if (intoComposer(event)) offer([...(event.dataTransfer?.files ?? [])]);
  });
}

export function startAttachments(hooks: { changed: () => void }): void {
  changed = hooks.changed;
  attachButton.addEventListener('click', () => picker.click());
  picker.addEventListener('change', () => {
    offer([...(picker.files ?? [])]);
    picker.value = ''; // the same file chosen again is a change again
  });
  input.addEventListener('paste', (event) => {
    const data = event.clipboardData;
    if (!data || !pasteAttaches([...data.types], data.files.length)) return;
    event.preventDefault();
    offer([...data.files]);
  });
  wireDropping();
}
