/**
 * The search scenario's load (bench/search.ts), run inside bench/load.ts: `searchers` clients at
 * once, each sending GET /search one after another, cycling through the queries, for `seconds`.
 */

export interface SearchLoadTask {
  kind: 'search';
  base: string;
  token: string;
  queries: string[];
  searchers: number;
  seconds: number;
}

export interface SearchLoadResult {
  count: number;
  p50: number;
  p99: number;
  errors: number;
  /** Hits of the first page, by query: that each query found something. */
  hits: Record<string, number>;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

export async function searchLoad(task: SearchLoadTask): Promise<SearchLoadResult> {
  const latencies: number[] = [];
  const hits: Record<string, number> = {};
  let errors = 0;
  const until = Date.now() + task.seconds * 1000;
  await Promise.all(
    Array.from({ length: task.searchers }, async (_, searcher) => {
      for (let i = searcher; Date.now() < until; i++) {
        const q = task.queries[i % task.queries.length] ?? '';
        const started = performance.now();
        const response = await fetch(`${task.base}/search?${new URLSearchParams({ q, limit: '20' }).toString()}`, {
          headers: { authorization: `Bearer ${task.token}` },
        }).catch(() => undefined);
        const body = (await response?.json().catch(() => undefined)) as { items?: unknown[] } | undefined;
        if (response?.status === 200 && body?.items) {
          latencies.push(performance.now() - started);
          hits[q] = body.items.length;
        } else errors++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { count: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors, hits };
}
