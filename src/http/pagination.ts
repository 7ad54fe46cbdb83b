import { z } from 'zod';
import { validationError } from './app-error.js';

/** For the OpenAPI document: a 204 answer has no body. */
export const noContent = z.null().meta({ description: 'No Content' });

export const paginationQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(200).optional(),
});

export const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/** Keyset position: the last item of a page, by (createdAt, id). Opaque to clients. */
export interface Position {
  createdAt: Date;
  id: string;
}

// Times PostgreSQL's timestamptz holds and no row of ours predates: year 0 or ±270,000 parse as ISO
// dates but make the query fail ("date out of range"), which must be the caller's 400, not our 500.
const EARLIEST_POSITION = Date.UTC(1970, 0, 1);
const LATEST_POSITION = Date.UTC(10_000, 0, 1);
const positionSchema = z.tuple([
  z.iso.datetime({ offset: true }).refine((value) => {
    const time = Date.parse(value);
    return time >= EARLIEST_POSITION && time < LATEST_POSITION;
  }),
  z.uuid(),
]);

export const encodeCursor = ({ createdAt, id }: Position) =>
  Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString('base64url');

export function decodeCursor(cursor: string): Position {
  try {
    const [createdAt, id] = positionSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return { createdAt: new Date(createdAt), id };
  } catch {
    throw validationError('cursor', 'is not a cursor this API returned; pass nextCursor from the previous page as it is');
  }
}

/** Query `limit + 1` rows; this splits off the extra one into a cursor naming the page's last row. */
export function toPage<Row, Item>(rows: Row[], limit: number, present: (row: Row) => Item, cursorOf: (row: Row) => string) {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(present), nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}

/** Cursor for lists ordered by a sequence number (messages). */
export const encodeSeqCursor = (seq: number) => Buffer.from(`seq:${seq}`).toString('base64url');

export function decodeSeqCursor(cursor: string): number {
  const match = /^seq:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match?.[1]) throw validationError('cursor', 'is not a cursor this API returned; pass nextCursor from the previous page as it is');
  return Number(match[1]);
}
