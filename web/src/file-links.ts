/**
 * A prompt's files in the conversation. GET /files/:id/content wants the Bearer header, which
 * neither <img src> nor a plain link sends: images are fetched with the token into object URLs,
 * kept while they are on screen (the log is redrawn often, and must not fetch them every time), and
 * other files download on a click, through a blob and a temporary <a download>.
 */
import { fetchWithToken, ok } from './api';
import { fileSummary, showsAsImage, typeBadge, formatSize } from './attachment-rules';
import type { Message, StoredFile } from './contract';
import { h } from './dom';
import { act } from './report';

/** The files of a prompt: [] for replies, and from a server that predates files. */
export const attachmentsOf = (message: Message): StoredFile[] => message.attachments;

const contentPath = (file: StoredFile) => `/files/${encodeURIComponent(file.id)}/content`;

async function fetchContent(file: StoredFile): Promise<Blob> {
  const response = await fetchWithToken(contentPath(file));
  if (!response.ok) await ok(Promise.resolve({ response, error: undefined }));
  return response.blob();
}

/** Object URLs of the images shown, by file id (see releaseHiddenImages). */
const images = new Map<string, Promise<string>>();

function imageUrl(file: StoredFile): Promise<string> {
  let url = images.get(file.id);
  if (!url) {
    url = fetchContent(file).then((blob) => URL.createObjectURL(blob));
    images.set(file.id, url);
    // A failed load is tried again at the next redraw, not remembered.
    const loading = url;
    loading.catch(() => images.get(file.id) === loading && images.delete(file.id));
  }
  return url;
}

function imageItem(file: StoredFile): HTMLElement {
  const picture = h('img', { class: 'thumbnail', alt: file.name, title: fileSummary(file) });
  // Opens the full image in a tab of its own once it is here (no href before: nothing to open yet).
  const link = h('a', { class: 'image-link', target: '_blank', rel: 'noopener' }, picture);
  const item = h('li', { class: 'attachment image', 'data-file-id': file.id }, link);
  imageUrl(file).then(
    (url) => {
      picture.src = url;
      link.href = url;
    },
    () => item.replaceChildren(h('span', { class: 'file-gone' }, `${file.name} (could not be loaded)`)),
  );
  return item;
}

async function download(file: StoredFile): Promise<void> {
  const link = h('a', { href: URL.createObjectURL(await fetchContent(file)), download: file.name });
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

function fileItem(file: StoredFile): HTMLElement {
  // The real address, so that the link says where it goes; the click fetches it with the token.
  const link = h(
    'a',
    {
      class: 'file-link',
      href: contentPath(file),
      download: file.name,
      title: `Download ${fileSummary(file)}`,
      onclick: (event) => {
        event.preventDefault();
        act(() => download(file));
      },
    },
    h('span', { class: 'badge', 'aria-hidden': 'true' }, typeBadge(file.mimeType)),
    h('span', { class: 'file-name' }, file.name),
    h('span', { class: 'file-meta' }, formatSize(file.sizeBytes)),
  );
  return h('li', { class: 'attachment file' }, link);
}

/** A prompt's files: images inline, other files as links that download, deleted ones by name. */
export function attachmentList(files: StoredFile[]): HTMLElement {
  return h(
    'ul',
    { class: 'attachments', 'aria-label': 'Attached files' },
    ...files.map((file) => {
      if (file.deleted) return h('li', { class: 'attachment deleted' }, fileSummary(file));
      return showsAsImage(file.mimeType) ? imageItem(file) : fileItem(file);
    }),
  );
}

/** Gives back the memory of the images no longer under `shown` (after a redraw, or another chat opened). */
export function releaseHiddenImages(shown: ParentNode): void {
  const onScreen = new Set([...shown.querySelectorAll<HTMLElement>('[data-file-id]')].map((element) => element.dataset.fileId));
  for (const [id, url] of images) {
    if (onScreen.has(id)) continue;
    images.delete(id);
    url.then((address) => URL.revokeObjectURL(address), () => undefined);
  }
}
