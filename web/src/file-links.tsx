/**
 * A prompt's files in the conversation. GET /files/:id/content wants the Bearer header, which
 * neither <img src> nor a plain link sends: images are fetched with the token into object URLs,
 * kept while they are on screen (the log is redrawn often, and must not fetch them every time), and
 * other files download on a click, through a blob and a temporary <a download>.
 */
import { useEffect, useState } from 'preact/hooks';
import { fetchWithToken, ok } from './api';
import { fileSummary, showsAsImage } from './attachment-rules';
import type { Message, StoredFile } from './contract';
import { FileChip } from './file-chip';
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

/** Saves a blob under a name, as a download (a temporary <a download>, never in the page). */
export function saveBlob(blob: Blob, name: string): void {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

function ImageItem({ file }: { file: StoredFile }) {
  const [url, setUrl] = useState<string | undefined>(undefined);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let shown = true;
    imageUrl(file).then(
      (address) => shown && setUrl(address),
      () => shown && setFailed(true),
    );
    return () => void (shown = false);
  }, [file.id]);
  if (failed) {
    return (
      <li class="attachment image" data-file-id={file.id}>
        <span class="file-gone">{`${file.name} (could not be loaded)`}</span>
      </li>
    );
  }
  // Opens the full image in a tab of its own once it is here (no href before: nothing to open yet).
  return (
    <li class="attachment image" data-file-id={file.id}>
      <a class="image-link" target="_blank" rel="noopener" href={url}>
        <img class="thumbnail" alt={file.name} title={fileSummary(file)} src={url} />
      </a>
    </li>
  );
}

function FileItem({ file }: { file: StoredFile }) {
  // The real address, so that the link says where it goes; the click fetches it with the token.
  return (
    <li class="attachment file">
      <a
        class="file-link"
        href={contentPath(file)}
        download={file.name}
        title={`Download ${fileSummary(file)}`}
        onClick={(event) => {
          event.preventDefault();
          act(async () => saveBlob(await fetchContent(file), file.name));
        }}
      >
        <FileChip file={file} />
      </a>
    </li>
  );
}

/** A prompt's files: images inline, other files as links that download, deleted ones by name. */
export function AttachmentList({ files }: { files: StoredFile[] }) {
  return (
    <ul class="attachments" aria-label="Attached files">
      {files.map((file) => {
        if (file.deleted) {
          return (
            <li key={file.id} class="attachment deleted">
              {fileSummary(file)}
            </li>
          );
        }
        return showsAsImage(file.mimeType) ? <ImageItem key={file.id} file={file} /> : <FileItem key={file.id} file={file} />;
      })}
    </ul>
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
