import { and, eq, isNull } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { users } from '../../infra/db/schema.js';
import type { Tier } from './tier.js';

export type UserRow = typeof users.$inferSelect;
/** A user with the tier their subscriptions give them right now. */
export type Account = UserRow & { tier: Tier };
export type NewUser = Pick<typeof users.$inferInsert, 'mobile' | 'name'>;

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

/** A signup of a number nobody proved yet starts over: the new name replaces the old. Undefined once proved. */
export async function restartSignup(db: Executor, userId: string, name: string | null, now: Date): Promise<UserRow | undefined> {
  const [row] = await db
    .update(users)
    .set({ name, updatedAt: now })
    .where(and(eq(users.id, userId), isNull(users.mobileVerifiedAt)))
    .returning();
  return row;
}

/**
 * Marks the number proved, with the password and email that come with the proof (those given at
 * signup, when a signup code proved it; none otherwise). Only the first proof counts: undefined if
 * the number was proved already.
 */
export async function proveMobile(
  db: Executor,
  userId: string,
  details: { passwordHash: string | null; email: string | null },
  now: Date,
): Promise<UserRow | undefined> {
  const [row] = await db
    .update(users)
    .set({ ...details, mobileVerifiedAt: now, updatedAt: now })
    .where(and(eq(users.id, userId), isNull(users.mobileVerifiedAt)))
    .returning();
  return row;
}
