import { z } from 'zod';
import type { Database } from '../../infra/db/client.js';
import { cursorCodec, toPage } from '../../http/pagination.js';
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

const searchCursor = cursorCodec(
  positionSchema,
  ([rank, createdAt, id]): SearchPosition => ({ rank, createdAt, id }),
  ({ rank, createdAt, id }) => [rank, createdAt, id],
);

export type SearchService = ReturnType<typeof createSearchService>;

export function createSearchService({ database }: Deps) {
  return {
    /** The caller's hits for `q`, best first (newer first among equals), a page at a time. */
    async search(userId: string, q: string, limit: number, cursor: string | undefined): Promise<{ items: SearchHitDto[]; nextCursor: string | null }> {
      const after = cursor === undefined ? undefined : searchCursor.decode(cursor);
      const parsed = parseSearch(q);
      const tsquery = toTsquery(parsed);
      if (tsquery === undefined) return { items: [], nextCursor: null };
      const rows = await searchOwned(database.db, userId, tsquery, limit + 1, after);
      const words = highlightWords(parsed);
      const present = (row: SearchRow): SearchHitDto => ({
        chatroomId: row.chatroomId,
        chatroomTitle: row.chatroomTitle,
        messageId: row.isTitle ? null : row.id,
        role: row.role,
        ...snippetOf(row.text, words),
        createdAt: row.createdAt.toISOString(),
      });
      return toPage(rows, limit, present, (row) => searchCursor.encode({ rank: row.rank, createdAt: row.createdAtExact, id: row.id }));
    },
  };
}
