import { z } from 'zod';
import { pageOf, paginationQuery } from '../../http/pagination.js';
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
export const fileParams = z.object({ id: z.string().max(100) });

export const storageSchema = z
  .object({ usedBytes: z.number().int(), limitBytes: z.number().int() })
  .meta({ id: 'Storage', description: "Bytes of the user's files not deleted, and the plan's quota" });

/** The multipart body, for the OpenAPI document (the route reads the stream itself). */
export const uploadBody = z
  .object({ file: z.string().meta({ format: 'binary', description: 'The file: one part named `file`' }) })
  .meta({ description: 'multipart/form-data with exactly one part, a file named `file`' });
