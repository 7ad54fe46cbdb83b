import { eq } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { users } from '../../infra/db/schema.js';
import type { Tier } from '../billing/allowance.js';

export type UserRow = typeof users.$inferSelect;
/** A user with the tier their subscriptions give them right now. */
export type Account = UserRow & { tier: Tier };
export type NewUser = Pick<typeof users.$inferInsert, 'mobile' | 'name' | 'email' | 'passwordHash'>;

export async function findUserById(db: Executor, id: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id));
  return row;
}

export async function findUserByMobile(db: Executor, mobile: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.mobile, mobile));
  return row;
}

/** Undefined when the mobile is taken: the unique index decides, so two racing sign-ups cannot both win. */
export async function insertUser(db: Executor, user: NewUser): Promise<UserRow | undefined> {
  const [row] = await db.insert(users).values(user).onConflictDoNothing({ target: users.mobile }).returning();
  return row;
}

export async function setPasswordHash(db: Executor, userId: string, passwordHash: string, now: Date): Promise<void> {
  await db.update(users).set({ passwordHash, updatedAt: now }).where(eq(users.id, userId));
}
