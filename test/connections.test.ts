import Fastify from 'fastify';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTimeout } from '../src/infra/deadline.js';
import { healthRoutes } from '../src/http/health.routes.js';
import { registerProblemHandlers } from '../src/http/problem.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { bearer, json, signIn, signUp, type SignedInUser } from './helpers/factories.js';
import { createRoom, pollUntilFinished, sendMessage } from './helpers/messages.js';
import { testMode } from './helpers/mode.js';
import { waitUntil } from './helpers/wait.js';

// A request that hangs fails the test here, long before the suite's timeout, with a clear message.
const ANSWER_BOUND_MS = 10_000;
const answers = <T>(work: Promise<T>) => withTimeout(work, ANSWER_BOUND_MS, 'the app');

/** Bounded, so that a service that never heals fails the test; a healing takes a few reconnection attempts. */
const HEALING = { timeoutMs: 20_000, intervalMs: 100 };

/** Neither the driver's words nor where the servers are may reach a client. */
function expectNoInternals(rawBody: string, ports: number[]) {
  const body = rawBody.replace(/"requestId":"[^"]*"/, ''); // a random id may contain any digits
  expect(body).not.toMatch(/127\.0\.0\.1|localhost|ECONNREFUSED|ECONNRESET|terminated|max retries|timed out/i);
  for (const port of ports) expect(body).not.toContain(String(port));
}

describe('the error mapping and /readyz on their own (every mode)', () => {
  const refused = () => Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:5432'), { code: 'ECONNREFUSED' });

  it('answers a dependency that is unreachable as a 503 problem without its address', async () => {
    const app = Fastify();
    registerProblemHandlers(app);
    // Drizzle wraps the driver's error: the mapping looks through `cause`.
    app.get('/wrapped', () => Promise.reject(new Error('Failed query: select 1', { cause: new Error('Connection terminated unexpectedly') })));
    app.get('/refused', () => Promise.reject(refused()));
    app.get('/bug', () => Promise.reject(new TypeError('x is undefined')));
    for (const url of ['/wrapped', '/refused']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.headers['retry-after']).toBeDefined();
      expect(res.json()).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
      expectNoInternals(res.body, [5432]);
    }
    // An ordinary bug stays a 500: only connection failures are "unavailable".
    expect((await app.inject({ method: 'GET', url: '/bug' })).statusCode).toBe(500);
    await app.close();
  });

  it('serves /readyz on a bare Fastify (the worker role mounts it so): names each check, never the raw error', async () => {
    const app = Fastify();
    await app.register(
      healthRoutes({
        database: { ping: () => Promise.reject(refused()) },
        redis: { ping: () => new Promise<'PONG'>(() => undefined) },
        queue: { ping: () => Promise.resolve() },
      }),
    );
    const res = await answers(app.inject({ method: 'GET', url: '/readyz' }));
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', checks: { database: 'down', redis: 'timeout', queue: 'ok' } });
    expectNoInternals(res.body, [5432]);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    await app.close();
  });
});

/*
 * These scenarios cut the app's connections to a real PostgreSQL and a real Redis (through a TCP
 * proxy, never stopping the shared servers) and terminate its PostgreSQL backends. The embedded mode
 * has no connections to lose, so they run in the services mode only.
 */
describe.runIf(testMode === 'services')('connections that heal (services mode only: needs PostgreSQL and Redis to cut)', () => {
  let t: TestApp;
  let services: NonNullable<TestApp['services']>;
  let user: SignedInUser;
  let serverPorts: number[];

  beforeAll(async () => {
    t = await startTestApp({ throughProxies: true, env: {
        // Short, so that the stalled cases answer well within the bound (and prove the settings are applied).
        DATABASE_CONNECT_TIMEOUT_MS: '2000',
        DATABASE_STATEMENT_TIMEOUT_MS: '1000',
        GENERATION_RECOVERY_INTERVAL_SECONDS: '1',
      }, });
    services = t.services as NonNullable<TestApp['services']>;
    serverPorts = [services.databaseProxy.port, services.redisProxy.port, 5432, 6379];
    user = await signIn(t);
  });
  afterAll(() => t?.close());

  const listRooms = () => t.request({ method: 'GET', url: '/chatroom', headers: bearer(user.accessToken) });
  // The list and the session may come from caches; the subscription status is always read from PostgreSQL.
  const readsDatabase = () => t.request({ method: 'GET', url: '/subscription/status', headers: bearer(user.accessToken) });
  const readyz = () => t.request({ method: 'GET', url: '/readyz' });

  it('keeps running and serves again after every PostgreSQL backend of its database is terminated', async () => {
    // Fill the pool with idle connections, the ones a failover kills under a quiet process.
    await Promise.all(Array.from({ length: 4 }, () => readsDatabase()));
    const admin = new pg.Client({ connectionString: services.databaseUrl });
    await admin.connect();
    try {
      const terminated = await admin.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
      );
      expect(terminated.rowCount).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
    await waitUntil(async () => (await readsDatabase()).statusCode === 200, 'a request succeeds after the backends were terminated', HEALING);
    const created = await t.request({
      method: 'POST',
      url: '/chatroom',
      headers: { ...bearer(user.accessToken), 'content-type': 'application/json' },
      payload: JSON.stringify({ title: 'after failover' }),
    });
    expect(created.statusCode).toBe(201);
  }, 40_000);

  it('survives the backend of a transaction in progress being terminated between two of its queries', async () => {
    const admin = new pg.Client({ connectionString: services.databaseUrl });
    await admin.connect();
    const otherBackends = async () =>
      Number((await admin.query('select count(*) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()')).rows[0].count);
    try {
      const transaction = t.container.database.transaction(async (tx) => {
        await tx.execute(sql`select 1`);
        // The connection is checked out and idle (no query running) when its backend goes: the moment
        // the pool does not watch it.
        await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
        await waitUntil(async () => (await otherBackends()) === 0, 'the backends are gone', HEALING);
        await tx.execute(sql`select 2`);
      });
      await expect(transaction).rejects.toThrow();
    } finally {
      await admin.end();
    }
    await waitUntil(async () => (await readsDatabase()).statusCode === 200, 'requests succeed after the transaction lost its connection', HEALING);
  }, 40_000);

  // `cut`: the server went away (connections reset). `stall`: the network went silent (nothing answers).
  for (const outage of ['cut', 'stall'] as const) {
    it(`answers 503 problems while PostgreSQL is unreachable (${outage}), /readyz names the database, and it resumes by itself`, async () => {
      expect((await listRooms()).statusCode).toBe(200); // cached, with the session
      services.databaseProxy[outage]();
      try {
        // What is cached still answers; what needs PostgreSQL is a 503 problem, in bounded time.
        const cached = await answers(listRooms());
        expect(cached.statusCode).toBe(200);
        expect(cached.headers['x-cache']).toBe('HIT');
        const res = await answers(readsDatabase());
        expect(res.statusCode).toBe(503);
        expect(res.headers['content-type']).toContain('application/problem+json');
        expect(res.json()).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
        expectNoInternals(res.body, serverPorts);

        const ready = await answers(readyz());
        expect(ready.statusCode).toBe(503);
        expect(ready.json().checks).toMatchObject({ database: expect.stringMatching(/^(down|timeout)$/), redis: 'ok', queue: 'ok' });
        expectNoInternals(ready.body, serverPorts);
      } finally {
        services.databaseProxy.restore();
      }
      await waitUntil(async () => (await readsDatabase()).statusCode === 200, 'requests succeed once PostgreSQL is back', HEALING);
      expect((await readyz()).statusCode).toBe(200);
    }, 60_000);
  }

  for (const outage of ['cut', 'stall'] as const) {
    it(`keeps answering while Redis is unreachable (${outage}); the cache, the queue and the worker resume when it is back`, async () => {
      const room = await createRoom(t, user);
      const roomDuringOutage = await createRoom(t, user);
      const { mobile } = await signUp(t);
      services.redisProxy[outage]();
      let sentDuringOutage: string;
      try {
        // The list comes from PostgreSQL when the cache cannot answer.
        const list = await answers(listRooms());
        expect(list.statusCode).toBe(200);
        expect(list.headers['x-cache']).toBe('MISS');
        expect(list.json().items.map((r: { id: string }) => r.id)).toContain(room);

        // The rate limiter cannot count: the request is let through (README, "Rate limits"), not held.
        const otp = await answers(t.request({ method: 'POST', url: '/auth/send-otp', ...json({ mobile }) }));
        expect(otp.statusCode).toBe(200);

        // A message is stored even though it cannot be enqueued now.
        const sent = await answers(sendMessage(t, user, roomDuringOutage, 'sent while Redis is down', { wait: false }));
        expect(sent.statusCode).toBe(202);
        sentDuringOutage = sent.json<{ reply: { id: string } }>().reply.id;

        const ready = await answers(readyz());
        expect(ready.statusCode).toBe(503);
        expect(ready.json().checks).toMatchObject({
          database: 'ok',
          redis: expect.stringMatching(/^(down|timeout)$/),
          queue: expect.stringMatching(/^(down|timeout)$/),
        });
        expectNoInternals(ready.body, serverPorts);
      } finally {
        services.redisProxy.restore();
      }

      await waitUntil(async () => (await readyz()).statusCode === 200, '/readyz is 200 once Redis is back', HEALING);
      await waitUntil(async () => (await listRooms()).headers['x-cache'] === 'HIT', 'the list is cached again', HEALING);

      // A message sent after the outage is enqueued and answered: the worker reconnected by itself.
      const sent = await sendMessage(t, user, room, 'are you back?', { wait: false });
      expect(sent.statusCode).toBe(202);
      const reply = await pollUntilFinished(t, user, room, sent.json<{ reply: { id: string } }>().reply.id);
      expect(reply).toMatchObject({ status: 'done' });
      expect(reply.content.length).toBeGreaterThan(0);

      // The one sent during the outage is picked up by the recovery sweep once it counts as stale.
      t.clock.advance(2 * 60_000);
      const late = await pollUntilFinished(t, user, roomDuringOutage, sentDuringOutage);
      expect(late).toMatchObject({ status: 'done' });
    }, 60_000);
  }
});
