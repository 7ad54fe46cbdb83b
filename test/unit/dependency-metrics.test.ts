import { describe, expect, it } from 'vitest';
import { checkDependencies } from '../../src/infra/dependency-checks.js';
import { createMetrics } from '../../src/infra/metrics.js';

const silent = { warn: () => undefined };
const answers = { ping: () => Promise.resolve() };

describe('dependency_up', () => {
  it('is 1 for a dependency that answers, 0 for one that fails, and absent for one not configured', async () => {
    const metrics = createMetrics();
    metrics.trackDependencies(() =>
      checkDependencies({ database: { ping: () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.5:5432')) }, redis: undefined, queue: answers }, silent),
    );
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/dependency_up\{dependency="database"\} 0\b/);
    expect(text).toMatch(/dependency_up\{dependency="queue"\} 1\b/);
    expect(text).not.toContain('dependency_up{dependency="redis"}');
    expect(text).not.toContain('10.0.0.5'); // the driver's words stay in the log
  });

  it('follows the dependency from one scrape to the next: down, then back', async () => {
    let up = false;
    const metrics = createMetrics();
    const flaky = { ping: () => (up ? Promise.resolve('PONG' as const) : Promise.reject(new Error('ECONNRESET'))) };
    metrics.trackDependencies(() => checkDependencies({ database: answers, redis: flaky, queue: answers }, silent));
    expect(await metrics.registry.metrics()).toMatch(/dependency_up\{dependency="redis"\} 0\b/);
    up = true;
    expect(await metrics.registry.metrics()).toMatch(/dependency_up\{dependency="redis"\} 1\b/);
  });
});

describe('replies_unfinished and replies_oldest_unfinished_age_seconds', () => {
  it('say "unknown" while the database cannot be read (no counts, an age of NaN), instead of repeating the last values', async () => {
    let readable = true;
    const metrics = createMetrics();
    metrics.trackUnfinishedReplies(() => (readable ? Promise.resolve({ pending: 3, streaming: 1, oldestAgeSeconds: 42 }) : Promise.reject(new Error('down'))));
    const before = await metrics.registry.metrics();
    expect(before).toMatch(/replies_unfinished\{status="pending"\} 3\b/);
    expect(before).toMatch(/replies_oldest_unfinished_age_seconds 42\b/);
    readable = false;
    const during = await metrics.registry.metrics();
    expect(during).not.toMatch(/replies_unfinished\{/);
    expect(during).toMatch(/^replies_oldest_unfinished_age_seconds nan$/im); // prom-client writes "Nan"; Prometheus reads it as NaN
  });

  it('come from one read per scrape', async () => {
    let reads = 0;
    const metrics = createMetrics();
    metrics.trackUnfinishedReplies(() => {
      reads++;
      return Promise.resolve({ pending: 0, streaming: 0, oldestAgeSeconds: 0 });
    });
    await metrics.registry.metrics();
    await metrics.registry.metrics();
    expect(reads).toBe(2);
  });
});
