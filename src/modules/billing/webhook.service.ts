import type { FastifyBaseLogger } from 'fastify';
import { z, ZodError } from 'zod';
import type { Clock } from '../../infra/clock.js';
import type { Database, Executor } from '../../infra/db/client.js';
import { isUuid } from '../../infra/ids.js';
import { AppError } from '../../http/app-error.js';
import {
  InvalidSignatureError,
  MalformedEventError,
  stripeSubscriptionSchema,
  type PaymentGateway,
  type StripeEvent,
  type StripeSubscription,
  type WebhookVerifier,
} from '../../integrations/stripe/payment-gateway.js';
import { findUserById } from '../users/user.repository.js';
import {
  applySubscriptionState,
  findUserIdByCustomer,
  isStripeEventRecorded,
  linkStripeCustomer,
  recordStripeEvent,
} from './subscription.repository.js';

type Deps = {
  database: Pick<Database, 'db' | 'transaction'>;
  gateway: Pick<PaymentGateway, 'retrieveSubscription'>;
  verifier: WebhookVerifier;
  /** Told after a committed change to a user's subscription or billing link (cached sessions carry the tier). */
  accounts: { accountChanged(userId: string): Promise<void> };
  clock: Clock;
  log: FastifyBaseLogger;
};

const checkoutSessionSchema = z.object({
  mode: z.string().optional(),
  customer: z.string().nullable().optional(),
  client_reference_id: z.string().nullable().optional(),
  subscription: z.string().nullable().optional(),
});
const invoiceSchema = z.object({
  parent: z
    .object({ subscription_details: z.object({ subscription: z.string() }).nullable().optional() })
    .nullable()
    .optional(),
});


/** A subscription as Stripe stated it, and when. */
interface Statement {
  subscription: StripeSubscription;
  asOf: Date;
}

export type WebhookOutcome = 'applied' | 'duplicate' | 'ignored';

export type WebhookService = ReturnType<typeof createWebhookService>;

export function createWebhookService({ database, gateway, verifier, accounts, clock, log }: Deps) {
  const { db } = database;

  /*
   * Which subscription state an event tells us. Subscription events carry it, stamped with the
   * event's time. Checkout and invoice events only name the subscription: we retrieve it, which
   * gives the current truth, stamped now. Retrieval happens before the transaction opens.
   */
  // Stripe stamps events in whole seconds; a retrieved state is stamped in the same unit, so that an
  // event from the same second is a tie (settled by stage of life), never silently "older".
  const retrievedNow = () => new Date(Math.floor(clock.now().getTime() / 1000) * 1000);

  async function retrieved(subscriptionId: string): Promise<Statement | undefined> {
    const asOf = retrievedNow(); // stamped before asking: the answer is at least this new
    const subscription = await gateway.retrieveSubscription(subscriptionId);
    if (subscription) return { subscription, asOf };
    // Signed, so it came from Stripe, yet Stripe has no such subscription (deleted, or another
    // account's): a 500 would be retried for days with the same outcome. Acknowledge it and say so.
    log.warn({ subscriptionId }, 'stripe event names a subscription Stripe does not have; acknowledged and ignored');
    return undefined;
  }

  async function statementOf(event: StripeEvent): Promise<Statement | undefined> {
    const object = event.data.object;
    switch (event.type) {
      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted':
        return { subscription: stripeSubscriptionSchema.parse(object), asOf: new Date(event.created * 1000) };
      case 'checkout.session.completed': {
        const session = checkoutSessionSchema.parse(object);
        if (session.mode !== 'subscription' || !session.subscription) return undefined;
        return retrieved(session.subscription);
      }
      case 'invoice.paid':
      case 'invoice.payment_failed': {
        const subscriptionId = invoiceSchema.parse(object).parent?.subscription_details?.subscription;
        if (!subscriptionId) return undefined;
        return retrieved(subscriptionId);
      }
      default:
        return undefined;
    }
  }

  async function ownerOf(tx: Executor, event: StripeEvent, subscription: StripeSubscription): Promise<string | undefined> {
    if (event.type === 'checkout.session.completed') {
      // The session names our user; link its customer if the user has none yet.
      const session = checkoutSessionSchema.parse(event.data.object);
      if (isUuid(session.client_reference_id) && session.customer) {
        await linkStripeCustomer(tx, session.client_reference_id, session.customer);
      }
    }
    const byCustomer = await findUserIdByCustomer(tx, subscription.customer);
    if (byCustomer) return byCustomer;
    const fromMetadata = subscription.metadata.userId;
    if (!isUuid(fromMetadata)) return undefined;
    return (await findUserById(tx, fromMetadata))?.id;
  }

  return {
    /** Verifies and applies one webhook delivery. Stripe retries for days and may reorder: replays are no-ops. */
    async handle(rawBody: Buffer, signature: string | undefined): Promise<WebhookOutcome> {
      let event: StripeEvent;
      try {
        event = await verifier.verify(rawBody, signature);
      } catch (error) {
        if (error instanceof MalformedEventError) throw new AppError('VALIDATION_FAILED', 400, error.message);
        if (!(error instanceof InvalidSignatureError)) throw error;
        log.warn({ reason: error.message }, 'stripe webhook refused');
        throw new AppError('INVALID_SIGNATURE', 400, `The Stripe signature does not verify: ${error.message}`);
      }
      const eventLog = log.child({ eventId: event.id, eventType: event.type });
      // Checked before any retrieval from Stripe; the insert in the transaction below is the guard that counts.
      if (await isStripeEventRecorded(db, event.id)) {
        eventLog.info('stripe event replayed; already applied');
        return 'duplicate';
      }

      let statement: Statement | undefined;
      try {
        statement = await statementOf(event);
      } catch (error) {
        // Signed by Stripe yet not the shape we read (or a retrieval failed): a retrieval failure is
        // worth Stripe's retry, a shape we cannot read is not, as it would fail the same way for days.
        if (!(error instanceof ZodError)) throw error;
        eventLog.error({ err: error }, 'stripe event has a shape we cannot read; acknowledged and ignored');
        statement = undefined;
      }
      const { outcome, userId } = await database.transaction(async (tx): Promise<{ outcome: WebhookOutcome; userId?: string }> => {
        // Recorded in the same transaction as its effect: both happen, or neither.
        if (!(await recordStripeEvent(tx, event.id, event.type, clock.now()))) return { outcome: 'duplicate' };
        if (!statement) return { outcome: 'ignored' };
        const { subscription, asOf } = statement;
        const userId = await ownerOf(tx, event, subscription);
        if (!userId) {
          eventLog.warn({ customer: subscription.customer }, 'stripe event for a customer we do not know; ignored');
          return { outcome: 'ignored' };
        }
        const item = subscription.items.data[0];
        const applied = await applySubscriptionState(
          tx,
          {
            stripeSubscriptionId: subscription.id,
            userId,
            stripeCustomerId: subscription.customer,
            status: subscription.status,
            priceId: item?.price?.id ?? null,
            currentPeriodEnd: item?.current_period_end === undefined ? null : new Date(item.current_period_end * 1000),
            cancelAtPeriodEnd: subscription.cancel_at_period_end,
            stateAsOf: asOf,
          },
          clock.now(),
        );
        eventLog.info({ userId, subscriptionId: subscription.id, status: subscription.status, applied }, 'stripe event handled');
        return { outcome: applied ? 'applied' : 'ignored', userId };
      });
      // Committed: the user's next request, on any api process, sees the new tier.
      if (userId !== undefined) await accounts.accountChanged(userId);
      return outcome;
    },
  };
}
