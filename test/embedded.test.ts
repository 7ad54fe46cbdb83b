import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createContainer } from '../src/container.js';
import { openDatabase, OuterHandleInTransactionError } from '../src/infra/db/client.js';
import { DataDirLockedError } from '../src/infra/db/data-dir-lock.js';
import { MigrationsError } from '../src/infra/db/migrations.js';
import { users } from '../src/infra/db/schema.js';
import { createLogger } from '../src/infra/logger.js';
import { json, makeMobile } from './helpers/factories.js';
import { provisionBackends, provisionFreshBackends, testMode } from './helpers/mode.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'gc-embedded-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

// Each test opens PGlite on disk up to three times (2–4 s each on a quiet machine): 20 s was too
// tight on a loaded one (the full suite timed out here with a load average of 15 on 2 cores).
describe('embedded PGlite data directory', { timeout: 60_000 }, () => {
  it('refuses to open a directory another live process holds, naming it', async () => {
    const dir = tempDir();
    const first = await openDatabase({ kind: 'pglite', dataDir: dir });
    try {
      await expect(openDatabase({ kind: 'pglite', dataDir: dir })).rejects.toThrow(DataDirLockedError);
      await expect(openDatabase({ kind: 'pglite', dataDir: dir })).rejects.toThrow(`'${dir}' is in use by process ${process.pid}`);
    } finally {
      await first.close();
    }
    const again = await openDatabase({ kind: 'pglite', dataDir: dir });
    await again.close();
  });

  it('takes over a lock left by a process that died', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'pglite.lock'), '999999999');
    const database = await openDatabase({ kind: 'pglite', dataDir: dir });
    await database.close();
  });

  it('takes over a lock naming its own pid when this process did not take it (a container restarted with the same pid)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'pglite.lock'), String(process.pid));
    const database = await openDatabase({ kind: 'pglite', dataDir: dir });
    try {
      // Now the lock is ours for real: opening the directory a second time is refused.
      await expect(openDatabase({ kind: 'pglite', dataDir: dir })).rejects.toThrow(DataDirLockedError);
    } finally {
      await database.close();
    }
  });

  it('keeps users across a restart: a user created before can log in after', async () => {
    const dir = tempDir();
    const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dir, LOG_LEVEL: 'silent' });
    const mobile = makeMobile();
    const password = 'survives a restart';

    const boot = async () => {
      const container = await createContainer(config, createLogger('silent'));
      return { container, app: await buildApp(container) };
    };
    const first = await boot();
    const signup = await first.app.inject({ method: 'POST', url: '/auth/signup', ...json({ mobile, password }) });
    expect(signup.statusCode).toBe(201);
    const verify = await first.app.inject({ method: 'POST', url: '/auth/verify-otp', ...json({ mobile, otp: signup.json().verification.otp }) });
    expect(verify.statusCode).toBe(200); // the password takes effect once the number is proved
    await first.app.close();
    await first.container.close();

    // Same directory, same generated development secret: the login and its token work after the restart.
    const second = await boot();
    try {
      const login = await second.app.inject({ method: 'POST', url: '/auth/login', ...json({ mobile, password }) });
      expect(login.statusCode).toBe(200);
      const me = await second.app.inject({ method: 'GET', url: '/user/me', headers: { authorization: `Bearer ${login.json().accessToken}` } });
      expect(me.json().mobile).toBe(mobile);
    } finally {
      await second.app.close();
      await second.container.close();
    }
  });
});

// Embedded, this opens PGlite on disk four times: the same reason for 60 s as above (CI timed out
// here at 20 s on a loaded machine).
describe(`migrations at start (${testMode})`, { timeout: 60_000 }, () => {
  it('a process that does not migrate refuses an unmigrated database, naming the command to run, and opens once it is migrated', async () => {
    const backends = await provisionFreshBackends();
    // Embedded: a directory on disk, so the database outlives each open.
    const options = backends.database.kind === 'pglite' ? { kind: 'pglite' as const, dataDir: tempDir() } : backends.database;
    try {
      await expect(openDatabase(options, { migrate: false })).rejects.toThrow(MigrationsError);
      await expect(openDatabase(options, { migrate: false })).rejects.toThrow('npm run migrate');
      const migrated = await openDatabase(options, { migrate: true });
      await migrated.close();
      const database = await openDatabase(options, { migrate: false });
      expect(await database.db.select().from(users)).toEqual([]);
      await database.close();
    } finally {
      await backends.dispose();
    }
  });
});

describe(`transactions (${testMode})`, () => {
  it('fail fast when a query inside one uses the outer handle, instead of hanging (PGlite) or escaping it (PostgreSQL)', async () => {
    const { database } = await provisionBackends();
    try {
      const mistake = database.transaction(async (tx) => {
        await tx.insert(users).values({ mobile: makeMobile() });
        await database.db.select().from(users); // the bug: outer handle
      });
      await expect(mistake).rejects.toSatisfy((error: Error) => (error.cause ?? error) instanceof OuterHandleInTransactionError);
      // The transaction rolled back and the outer handle still works outside it.
      expect(await database.db.select().from(users)).toEqual([]);
    } finally {
      await database.close();
    }
  });
});
