import { formatSize } from '../../src/shared/byte-size.js';
import { typeBadge, type FileFacts } from './attachment-rules';

/**
 * A file that is not drawn inline, as its link shows it: its type's badge, its name and its size.
 * One look on both pages: the chat's log (file-links.tsx) and a share's page (share-page.tsx).
 */
export function FileChip({ file }: { file: Pick<FileFacts, 'name' | 'mimeType' | 'sizeBytes'> }) {
  return (
    <>
      <span class="badge" aria-hidden="true">
        {typeBadge(file.mimeType)}
      </span>
      <span class="file-name">{file.name}</span>
      <span class="file-meta">{formatSize(file.sizeBytes)}</span>
    </>
  );
}
