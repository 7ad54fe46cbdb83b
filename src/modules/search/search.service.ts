import { z } from 'zod';
import type { Database } from '../../infra/db/client.js';
import { validationError } from '../../http/app-error.js';
import { highlightWords, parseSearch, toTsquery } from './search-query.js';
import { searchOwned, type SearchPosition, type SearchRow } from './search.repository.js';
import type { SearchHitDto } from './search.schemas.js';
import { snippetOf } from './search-snippet.js';

type Deps = {
  database: Pick<Database, 'db'>;
};

// A cursor carries what PostgreSQL casts (real, timestamptz, uuid): anything it would refuse is the
// caller's 400 here, never a failed query.
const RANK = /^\d{1,4}(\.\d{1,12})?(e-(?:[0-2]?\d|3[0-7]))?$/;
const EXACT_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})\d{3}Z$/;
const positionSchema = z.tuple([
  z.string().regex(RANK),
  z.string().refine((value) => {
    const match = EXACT_TIME.exec(value);
    const time = match?.[1] ? Date.parse(`${match[1]}Z`) : Number.NaN;
    // A date that does not exist (month 13) parses as NaN or moves: it must read back the same.
    return Number.isFinite(time) && new Date(time).toISOString().slice(0, 23) === match?.[1] && time >= 0;
  }),
  z.uuid(),
]);

const encodePosition = ({ rank, createdAt, id }: SearchPosition) => Buffer.from(JSON.stringify([rank, createdAt, id])).toString('base64url');

function decodePosition(cursor: string): SearchPosition {
  try {
    const [rank, createdAt, id] = positionSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return { rank, createdAt, id };
  } catch {
    throw validationError('cursor', 'is not a cursor this API returned; pass nextCursor from the previous page as it is');
  }
}

export type SearchService = ReturnType<typeof createSearchService>;

export function createSearchService({ database }: Deps) {
  return {
    /** The caller's hits for `q`, best first (newer first among equals), a page at a time. */
    async search(userId: string, q: string, limit: number, cursor: string | undefined): Promise<{ items: SearchHitDto[]; nextCursor: string | null }> {
      const after = cursor === undefined ? undefined : decodePosition(cursor);
      const parsed = parseSearch(q);
      const tsquery = toTsquery(parsed);
      if (tsquery === undefined) return { items: [], nextCursor: null };
      const rows = await searchOwned(database.db, userId, tsquery, limit + 1, after);
      const words = highlightWords(parsed);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map((row: SearchRow) => ({
          chatroomId: row.chatroomId,
          chatroomTitle: row.chatroomTitle,
          messageId: row.isTitle ? null : row.id,
          role: row.role,
          ...snippetOf(row.text, words),
          createdAt: row.createdAt.toISOString(),
        })),
        nextCursor: rows.length > limit && last ? encodePosition({ rank: last.rank, createdAt: last.createdAtExact, id: last.id }) : null,
      };
    },
  };
}
