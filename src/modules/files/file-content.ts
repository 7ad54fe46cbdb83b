import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../http/app-error.js';
import { rangeOf } from '../../http/byte-range.js';
import type { FileRow } from './file.repository.js';
import type { FileService } from './file.service.js';

/** Bytes served back are data, never a page: no script runs, nothing loads, even if a browser renders them. */
const CONTENT_POLICY = "default-src 'none'; img-src 'self' data:; media-src 'self'; sandbox";

/** `filename` as plain ASCII for old clients, and `filename*` (RFC 8187) with the name as it is. */
function contentDisposition(file: FileRow): string {
  const kind = file.mimeType.startsWith('image/') ? 'inline' : 'attachment';
  const ascii = file.name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(file.name)}`;
}

/**
 * Answers a file's bytes (or the Range asked for: 206, or 416) with the headers every download of a
 * file carries, whoever may read it: its owner (GET /files/:id/content) or anyone holding a share
 * that shows it. A deleted file is 404 FILE_NOT_FOUND.
 */
export async function sendFileContent(request: FastifyRequest, reply: FastifyReply, files: Pick<FileService, 'content'>, file: FileRow) {
  const range = rangeOf(request.headers.range, file.sizeBytes);
  if (range.kind === 'unsatisfiable') {
    throw new AppError('RANGE_NOT_SATISFIABLE', 416, `The file has ${file.sizeBytes} bytes`, {
      headers: { 'content-range': `bytes */${file.sizeBytes}` },
    });
  }
  const part = range.kind === 'part' ? { start: range.start, end: range.end } : undefined;
  const body = await files.content(file, part);
  void reply
    .header('content-type', file.mimeType.startsWith('text/') ? `${file.mimeType}; charset=utf-8` : file.mimeType)
    .header('content-disposition', contentDisposition(file))
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', CONTENT_POLICY)
    .header('cache-control', 'private, max-age=0, must-revalidate')
    .header('etag', `"${file.sha256}"`)
    .header('accept-ranges', 'bytes');
  if (!part) return reply.header('content-length', file.sizeBytes).send(body);
  return reply
    .code(206)
    .header('content-range', `bytes ${part.start}-${part.end}/${file.sizeBytes}`)
    .header('content-length', part.end - part.start + 1)
    .send(body);
}
