import { and, desc, eq, isNull } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { stripeEvents, subscriptions, users } from '../../infra/db/schema.js';
import { grantsPro } from '../users/tier.js';

export type SubscriptionRow = typeof subscriptions.$inferSelect;

export interface SubscriptionState {
  stripeSubscriptionId: string;
  userId: string;
  stripeCustomerId: string;
  status: string;
  priceId: string | null;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  stateAsOf: Date;
}

/** Stripe statuses after which a subscription never changes again. */
const TERMINAL = new Set(['canceled', 'incomplete_expired']);

/** For two states stamped in the same second: the one further along a subscription's life wins. */
const STAGE: Record<string, number> = { incomplete: 0, trialing: 1, active: 1, past_due: 2, unpaid: 2, paused: 2, canceled: 3, incomplete_expired: 3 };

/** The subscription to show: one that grants Pro if any, else the most recent. */
export async function findCurrentSubscription(db: Executor, userId: string, now: Date): Promise<SubscriptionRow | undefined> {
  const rows = await db.select().from(subscriptions).where(eq(subscriptions.userId, userId)).orderBy(desc(subscriptions.stateAsOf));
  return rows.find((row) => grantsPro(row, now)) ?? rows[0];
}

export async function isStripeEventRecorded(db: Executor, id: string): Promise<boolean> {
  const rows = await db.select({ id: stripeEvents.id }).from(stripeEvents).where(eq(stripeEvents.id, id));
  return rows.length > 0;
}

/** False if this event id was recorded before: the event was applied already. */
export async function recordStripeEvent(db: Executor, id: string, type: string, now: Date): Promise<boolean> {
  const rows = await db.insert(stripeEvents).values({ id, type, receivedAt: now }).onConflictDoNothing().returning({ id: stripeEvents.id });
  return rows.length > 0;
}

/**
 * Applies a subscription state unless what is stored is newer. Stripe may deliver events out of
 * order: a state older than the stored one is ignored, a terminal state is never left (and always
 * taken: nothing can follow it), and for two states from the same second the later stage of life
 * wins. Returns whether it applied.
 */
export async function applySubscriptionState(db: Executor, state: SubscriptionState, now: Date): Promise<boolean> {
  const inserted = await db
    .insert(subscriptions)
    .values({ ...state, updatedAt: now })
    .onConflictDoNothing()
    .returning({ id: subscriptions.stripeSubscriptionId });
  if (inserted.length > 0) return true;

  const [stored] = await db
    .select()
    .from(subscriptions)
    .where(eq(subscriptions.stripeSubscriptionId, state.stripeSubscriptionId))
    .for('update');
  if (!stored || TERMINAL.has(stored.status)) return false;
  const newer =
    TERMINAL.has(state.status) ||
    state.stateAsOf > stored.stateAsOf ||
    (state.stateAsOf.getTime() === stored.stateAsOf.getTime() && (STAGE[state.status] ?? 0) >= (STAGE[stored.status] ?? 0));
  if (!newer) return false;
  await db
    .update(subscriptions)
    .set({ ...state, updatedAt: now })
    .where(eq(subscriptions.stripeSubscriptionId, state.stripeSubscriptionId));
  return true;
}

export async function findUserIdByCustomer(db: Executor, stripeCustomerId: string): Promise<string | undefined> {
  const [row] = await db.select({ id: users.id }).from(users).where(eq(users.stripeCustomerId, stripeCustomerId));
  return row?.id;
}

export async function findStripeCustomer(db: Executor, userId: string): Promise<string | null> {
  const [row] = await db.select({ customer: users.stripeCustomerId }).from(users).where(eq(users.id, userId));
  return row?.customer ?? null;
}

/** Keeps the first customer linked to a user; returns the one that is linked now. */
export async function linkStripeCustomer(db: Executor, userId: string, stripeCustomerId: string): Promise<string | null> {
  await db
    .update(users)
    .set({ stripeCustomerId })
    .where(and(eq(users.id, userId), isNull(users.stripeCustomerId)));
  return findStripeCustomer(db, userId);
}
