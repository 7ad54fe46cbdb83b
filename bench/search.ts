/**
 * Scenario 8, search (`BENCH_ONLY=search`; bench/README.md). A table of `messages` rows (1,000,000 on
 * PostgreSQL) of which `own` (10,000) belong to the searching user, seeded in bulk with
 * generate_series INSERTs (the search trigger indexes each row as the app's writes do; the GIN index
 * is dropped for the seeding and built after it, as an operator would), then `searchers` (10)
 * clients searching at once through GET /search of the compiled server: p50 and p99 per round, and
 * the query plan of one search (EXPLAIN ANALYZE of the statement the server runs).
 *
 * Embedded, the database is PGlite inside the server: the bench signs the user up, stops the server,
 * seeds the data directory itself, explains there, and starts the server again on it. Its table is
 * smaller by default (BENCH_SEARCH_EMBEDDED_MESSAGES): seeding a million rows inside WASM takes long.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type SQL } from 'drizzle-orm';
import { openDatabase, type Database } from '../src/infra/db/client.js';
import { executeRaw } from '../src/infra/db/raw-rows.js';
import { parseSearch, toTsquery } from '../src/modules/search/search-query.js';
import { searchStatement } from '../src/modules/search/search.repository.js';
import { createScratchDatabase } from '../test/helpers/scratch-database.js';
import type { BenchRow } from './bench-row.js';
import type { SearchLoadResult, SearchLoadTask } from './search-load.js';

export interface SearchSizes {
  /** Rows of `messages` in all, on PostgreSQL and embedded. */
  messages: number;
  embeddedMessages: number;
  /** The searching user's share of them. */
  own: number;
  otherUsers: number;
  searchers: number;
  seconds: number;
  rounds: number;
}

interface SearchDeployment {
  base: string;
  stop(): Promise<void>;
}

interface BenchClient {
  call<T>(method: string, path: string, body?: unknown, token?: string): Promise<T>;
  signIn(): Promise<string>;
}

/** What bench/run.ts lends the scenario. */
export interface SearchBench<V extends { label: string; mode: string }> {
  variants: V[];
  sizes: SearchSizes;
  /** The PostgreSQL server's admin URL (services mode), for a scratch database of the scenario's own. */
  adminDatabaseUrl: string | undefined;
  deploy(variant: V, modelUrl: string, extraEnv: Record<string, string>): Promise<SearchDeployment>;
  load<T>(task: SearchLoadTask): Promise<T>;
  client(base: string): BenchClient;
  modelUrl: string;
}

/** A pseudo-word per number (6 letters, no digits: the parser keeps it a word): a vocabulary without a dictionary file. */
const WORD_FUNCTION = `create or replace function bench_word(n int) returns text language sql immutable
  as $$ select translate(left(md5(n::text), 6), '0123456789', 'qrstuvwxyz') $$`;

/** Word n of the seeded vocabulary, as bench_word spells it. */
async function wordsOf(database: Database, numbers: number[]): Promise<Map<number, string>> {
  const rows = await executeRaw(database.db, sql`select n, bench_word(n) as word from unnest(${`{${numbers.join(',')}}`}::int[]) n`);
  return new Map(rows.map((row) => [Number(row.n), String(row.word)]));
}

/**
 * Seeds `total` messages, `own` of them the searcher's (in 50 chatrooms), the rest spread over
 * `otherUsers` users with a chatroom each. Each message is 12-36 words drawn from 5,000 with a skew
 * (word n is drawn with probability falling as n grows), so that some words are in most messages
 * and others in a few.
 */
async function seed(database: Database, userId: string, sizes: { total: number; own: number; otherUsers: number }) {
  const run = (statement: string | SQL) => database.db.execute(typeof statement === 'string' ? sql.raw(statement) : statement);
  const content = `(select string_agg(bench_word(floor(power(random(), 3) * 5000)::int + 0 * k), ' ') from generate_series(1, 12 + g % 25) k)`;
  await run(WORD_FUNCTION);
  await run('drop index if exists message_search_user_vector_idx');
  await run(sql`insert into users (mobile, created_at, updated_at)
    select '+1555' || lpad(g::text, 7, '0'), now(), now() from generate_series(1, ${sizes.otherUsers}) g`);
  await run(`create table bench_other_rooms as
    select (row_number() over (order by u.id) - 1)::int as n, gen_random_uuid() as id, u.id as user_id from users u where u.mobile like '+1555%'`);
  await run(`insert into chatrooms (id, user_id, title, created_at, updated_at)
    select id, user_id, 'Chat ' || bench_word(n), now(), now() from bench_other_rooms`);
  await run(sql`create table bench_own_rooms as select (g - 1)::int as n, gen_random_uuid() as id from generate_series(1, 50) g`);
  await run(sql`insert into chatrooms (id, user_id, title, created_at, updated_at)
    select id, ${userId}, 'Notes on ' || bench_word(n * 7), now() - n * interval '1 hour', now() from bench_own_rooms`);
  await run(sql`insert into messages (chatroom_id, user_id, role, content, status, created_at, updated_at)
    select r.id, ${userId}, case when g % 2 = 0 then 'user' else 'model' end, ${sql.raw(content)}, 'done', now() - g * interval '1 second', now()
    from generate_series(1, ${sizes.own}) g join bench_own_rooms r on r.n = g % 50`);
  await run(sql`insert into messages (chatroom_id, user_id, role, content, status, created_at, updated_at)
    select r.id, r.user_id, case when g % 2 = 0 then 'user' else 'model' end, ${sql.raw(content)}, 'done', now() - g * interval '1 second', now()
    from generate_series(1, ${sizes.total - sizes.own}) g join bench_other_rooms r on r.n = g % ${sizes.otherUsers}`);
  await run('create index if not exists message_search_user_vector_idx on message_search using gin (user_id, vector)');
  await run('drop table bench_own_rooms');
  await run('drop table bench_other_rooms');
  await run('analyze');
}

/** Queries of every kind the box takes, over words of high, middle and low frequency. */
function queriesFrom(words: Map<number, string>): string[] {
  const word = (n: number) => words.get(n) ?? 'missing';
  return [
    word(50), // in a few per cent of the messages
    word(500), // in well under one per cent
    word(200).slice(0, 4), // a prefix
    `${word(20)} ${word(300)}`, // two words, both required
    `"${word(1)} ${word(2)}"`, // a phrase of two frequent words
    `${word(40)} -${word(3)}`, // one word without another
  ];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/**
 * What the database does with each query: the plan of the first (EXPLAIN (ANALYZE, BUFFERS) of the
 * statement the server runs), and each one's own time, the median `Execution Time` of five runs on
 * one connection after an uncounted first (the first on a connection loads the unaccent rules). It
 * separates what the statement costs from what the api and ten clients on two cores add.
 */
async function explainQueries(database: Database, userId: string, queries: string[]): Promise<{ plan: string; executions: string }> {
  const times: string[] = [];
  let plan = '';
  for (const q of queries) {
    const search = searchStatement(userId, toTsquery(parseSearch(q)) ?? '', 21);
    const runs: number[] = [];
    for (let run = 0; run < 6; run++) {
      // The uncounted first shows the buffers too; the timed runs do not pay for counting them.
      const statement = run === 0 ? sql`explain (analyze, buffers) ${search}` : sql`explain analyze ${search}`;
      const lines = (await executeRaw(database.db, statement)).map((row) => String(row['QUERY PLAN']));
      if (run === 0 && q === queries[0]) plan = lines.join('\n');
      const line = lines.find((text) => text.startsWith('Execution Time'));
      if (run > 0) runs.push(Number(/([\d.]+) ms/.exec(line ?? '')?.[1]));
    }
    times.push(`${q} ${median(runs).toFixed(2)} ms`);
  }
  return { plan, executions: times.join(', ') };
}

export async function searchScenario<V extends { label: string; mode: string }>(bench: SearchBench<V>): Promise<{ rows: BenchRow[]; figures: Map<string, { p50: number; p99: number }> }> {
  const { sizes } = bench;
  const rows: BenchRow[] = [];
  const figures = new Map<string, { p50: number; p99: number }>();
  for (const variant of bench.variants) {
    const embedded = variant.mode === 'embedded';
    const total = embedded ? sizes.embeddedMessages : sizes.messages;
    const own = Math.min(sizes.own, total);
    const dataDir = mkdtempSync(join(tmpdir(), 'gc-bench-search-'));
    const scratch = !embedded && bench.adminDatabaseUrl ? await createScratchDatabase(bench.adminDatabaseUrl, 'gc_bench_search_') : undefined;
    const env: Record<string, string> = { AUTO_TITLE: 'false', DATA_DIR: dataDir, ...(scratch ? { DATABASE_URL: scratch.url } : {}) };
    let deployment = await bench.deploy(variant, bench.modelUrl, env);
    try {
      const api = bench.client(deployment.base);
      const token = await api.signIn();
      const { id: userId } = await api.call<{ id: string }>('GET', '/user/me', undefined, token);
      if (embedded) await deployment.stop(); // PGlite is one process's: the server lets go of it while the bench seeds
      const database = await openDatabase(scratch ? { kind: 'postgres', url: scratch.url, poolSize: 2, statementTimeoutMs: 0 } : { kind: 'pglite', dataDir }, { migrate: false });
      let plan: string;
      let queries: string[];
      let executions: string;
      const seeding = Date.now();
      try {
        await seed(database, userId, { total, own, otherUsers: sizes.otherUsers });
        queries = queriesFrom(await wordsOf(database, [1, 2, 3, 20, 40, 50, 200, 300, 500]));
        ({ plan, executions } = await explainQueries(database, userId, queries));
      } finally {
        await database.close();
      }
      const seededSeconds = (Date.now() - seeding) / 1000;
      if (embedded) deployment = await bench.deploy(variant, bench.modelUrl, env);

      await bench.load<SearchLoadResult>({ kind: 'search', base: deployment.base, token, queries, searchers: sizes.searchers, seconds: 1 }); // warm-up
      const results: SearchLoadResult[] = [];
      for (let round = 0; round < sizes.rounds; round++) {
        results.push(await bench.load<SearchLoadResult>({ kind: 'search', base: deployment.base, token, queries, searchers: sizes.searchers, seconds: sizes.seconds }));
      }
      const p50 = median(results.map((r) => r.p50));
      const p99 = median(results.map((r) => r.p99));
      const hits = results.at(-1)?.hits ?? {};
      figures.set(variant.label, { p50, p99 });
      rows.push({
        label: variant.label,
        scenario: `GET /search, ${own.toLocaleString('en')} of ${total.toLocaleString('en')} messages the searcher's, ${sizes.searchers} searchers`,
        rps: median(results.map((r) => r.count / sizes.seconds)),
        p50,
        p99,
        errors: results.reduce((sum, r) => sum + r.errors, 0),
        note: `seeded in ${seededSeconds.toFixed(0)} s; first-page hits: ${queries.map((q) => `${q} → ${hits[q] ?? 0}`).join(', ')}`,
      });
      console.log(`\nsearch, ${variant.label}: one execution of each query in the database (median of 5): ${executions}`);
      console.log(`\nsearch, ${variant.label}: the plan of GET /search?q=${queries[0] ?? ''} (EXPLAIN ANALYZE of the statement the server runs)\n\n${plan}`);
    } finally {
      await deployment.stop();
      await scratch?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return { rows, figures };
}
