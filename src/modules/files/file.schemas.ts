import { z } from 'zod';
import type { ResponseHeader, ResponseWire } from '../../http/openapi.js';
import { pageOf, paginationQuery } from '../../http/pagination.js';
import { pathId } from '../../http/path-id.js';
import type { FileRow } from './file.repository.js';

export const fileSchema = z
  .object({
    id: z.string(),
    name: z.string().meta({ description: 'The uploaded name without any path, control or bidi characters, at most 255 characters' }),
    mimeType: z.string().meta({ description: 'Recognised from the bytes' }),
    sizeBytes: z.number().int(),
    sha256: z.string().meta({ description: 'Hex SHA-256 of the bytes' }),
    deleted: z.boolean().meta({ description: 'The bytes were deleted (by the owner, with their chatroom, or unreferenced); the metadata stays' }),
    createdAt: z.string(),
  })
  .meta({ id: 'File' });

export type FileDto = z.infer<typeof fileSchema>;

export const toFileDto = (row: FileRow): FileDto => ({
  id: row.id,
  name: row.name,
  mimeType: row.mimeType,
  sizeBytes: row.sizeBytes,
  sha256: row.sha256,
  deleted: row.deletedAt !== null,
  createdAt: row.createdAt.toISOString(),
});

export const filePageSchema = pageOf(fileSchema).meta({ id: 'FilePage' });
export const listFilesQuery = paginationQuery;
export const fileParams = z.object({ id: pathId });

export const storageSchema = z
  .object({ usedBytes: z.number().int(), limitBytes: z.number().int() })
  .meta({ id: 'Storage', description: "Bytes of the user's files not deleted, and the plan's quota" });

/** The multipart body, for the OpenAPI document (the route reads the stream itself). */
export const uploadBody = z
  .object({ file: z.string().meta({ format: 'binary', description: 'The file: one part named `file`' }) })
  .meta({ description: 'multipart/form-data with exactly one part, a file named `file`' });

/** The media types a stored file can have (API.md "Files"): what GET /files/:id/content sends it as. */
export const STORED_MEDIA_TYPES = [
  'image/png', 'image/jpeg', 'image/webp', 'image/heic', 'image/heif', 'application/pdf',
  'audio/wav', 'audio/mpeg', 'audio/aac', 'audio/ogg', 'audio/flac', 'audio/aiff',
  'text/plain', 'text/markdown', 'text/csv',
] as const;

/** A file's bytes in the document: one media type each, the bytes as they were uploaded. */
const fileBytesContent = Object.fromEntries(
  STORED_MEDIA_TYPES.map((mediaType) => [mediaType, { schema: { type: 'string', contentMediaType: mediaType, description: 'The bytes as uploaded' } }]),
);

const fileContentHeaders: ResponseHeader[] = ['Content-Disposition', 'ETag', 'Accept-Ranges'];

/** What a route that sends a file's bytes (file-content.ts) answers, for the document. */
export const fileContentResponses: Record<number, ResponseWire> = {
  200: { description: "The file's bytes, as its mimeType", headers: fileContentHeaders, content: fileBytesContent },
  206: { description: 'The bytes of the Range asked for', headers: [...fileContentHeaders, 'Content-Range'], content: fileBytesContent },
  416: { description: 'The Range cannot be met (`RANGE_NOT_SATISFIABLE`)', headers: ['Content-Range'] },
};
