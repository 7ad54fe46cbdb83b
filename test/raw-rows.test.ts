import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/infra/db/client.js';
import { columnsOf, executeRaw, selectRowsOf } from '../src/infra/db/raw-rows.js';
import { users } from '../src/infra/db/schema.js';
import { provisionBackends, testMode } from './helpers/mode.js';

/*
 * Hand-written statements (the sends, the claims, the walks) run through executeRaw: on the
 * transaction they are part of, with rows mapped exactly as the query builder maps them.
 */
let database: Database;

beforeAll(async () => {
  ({ database } = await provisionBackends());
});
afterAll(async () => {
  await database.close();
});

const userRow = (id: string) => sql`select ${columnsOf(users)} from users where id = ${id}::uuid`;

describe(`hand-written statements (${testMode})`, () => {
  it('map a row exactly as the query builder does (keys, dates, nulls)', async () => {
    const [inserted] = await database.db.insert(users).values({ mobile: '+919800000001', name: 'Raw', mobileVerifiedAt: new Date('2026-01-02T03:04:05.678Z') }).returning();
    if (!inserted) throw new Error('no user inserted');
    const [byBuilder] = await database.db.select().from(users).where(eq(users.id, inserted.id));
    const [byHand] = await selectRowsOf(database.db, users, userRow(inserted.id));
    expect(byHand).toEqual(byBuilder);
    expect(byHand?.mobileVerifiedAt).toEqual(new Date('2026-01-02T03:04:05.678Z'));
    expect(byHand?.email).toBeNull();
  });

  it('run inside the transaction they are given: they see its writes, and theirs roll back with it', async () => {
    const failed = database.transaction(async (tx) => {
      const [inserted] = await tx.insert(users).values({ mobile: '+919800000002' }).returning({ id: users.id });
      if (!inserted) throw new Error('no user inserted');
      expect(await selectRowsOf(tx, users, userRow(inserted.id))).toHaveLength(1);
      await executeRaw(tx, sql`update users set name = 'inside' where id = ${inserted.id}::uuid`);
      throw new Error('roll back');
    });
    await expect(failed).rejects.toThrow('roll back');
    expect(await executeRaw(database.db, sql`select id from users where mobile = '+919800000002'`)).toEqual([]);
  });
});
