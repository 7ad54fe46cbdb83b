import { z } from 'zod';
import { validationError } from './app-error.js';

/** For the OpenAPI document: a 204 answer has no body. */
export const noContent = z.null().meta({ description: 'No Content' });

export const paginationQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(200).optional(),
});

export const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });

const NOT_A_CURSOR = 'is not a cursor this API returned; pass nextCursor from the previous page as it is';

/**
 * An opaque cursor: a position written as a JSON tuple in base64url, and read back only through
 * `schema`. Whatever the schema refuses (a cursor edited, truncated or from another list) is the
 * caller's 400, never a query that fails on it.
 */
export function cursorCodec<Tuple extends [unknown, ...unknown[]], Position>(
  schema: z.ZodType<Tuple>,
  fromTuple: (tuple: Tuple) => Position,
  toTuple: (position: Position) => Tuple,
) {
  return {
    encode: (position: Position): string => Buffer.from(JSON.stringify(toTuple(position))).toString('base64url'),
    decode: (cursor: string): Position => {
      let tuple: Tuple;
      try {
        tuple = schema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
      } catch {
        throw validationError('cursor', NOT_A_CURSOR);
      }
      return fromTuple(tuple);
    },
  };
}

// Times PostgreSQL's timestamptz holds and no row of ours predates: year 0 or ±270,000 parse as ISO
// dates but make the query fail ("date out of range"), which must be the caller's 400, not our 500.
const EARLIEST_POSITION = Date.UTC(1970, 0, 1);
const LATEST_POSITION = Date.UTC(10_000, 0, 1);

/** A row's creation time in a cursor (ISO 8601, within what a row of ours can hold). */
const cursorTime = z.iso.datetime({ offset: true }).refine((value) => {
  const time = Date.parse(value);
  return time >= EARLIEST_POSITION && time < LATEST_POSITION;
});

/** Keyset position: the last item of a page, by (createdAt, id). */
export interface Position {
  createdAt: Date;
  id: string;
}

/** The cursor of a list ordered by (createdAt, id), for ids of the form `id` accepts (a UUID, a share's id). */
export const positionCursor = (id: z.ZodType<string>) =>
  cursorCodec(
    z.tuple([cursorTime, id]),
    ([createdAt, rowId]): Position => ({ createdAt: new Date(createdAt), id: rowId }),
    ({ createdAt, id: rowId }) => [createdAt.toISOString(), rowId],
  );

const uuidPositionCursor = positionCursor(z.uuid());
export const encodeCursor = uuidPositionCursor.encode;
export const decodeCursor = uuidPositionCursor.decode;

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
  if (!match?.[1]) throw validationError('cursor', NOT_A_CURSOR);
  return Number(match[1]);
}
