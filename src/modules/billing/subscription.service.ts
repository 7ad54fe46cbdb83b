import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../infra/clock.js';
import type { Database } from '../../infra/db/client.js';
import { AppError } from '../../http/app-error.js';
import type { PaymentGateway } from '../../integrations/stripe/payment-gateway.js';
import type { Account } from '../users/user.repository.js';
import { allowanceState, promptsUsed, usageDay, type AllowancePolicy } from './allowance.js';
import { findCurrentSubscription, findStripeCustomer, linkStripeCustomer } from './subscription.repository.js';

type Deps = {
  database: Pick<Database, 'db'>;
  gateway: PaymentGateway;
  policy: AllowancePolicy;
  clock: Clock;
  log: FastifyBaseLogger;
  successUrl?: string | undefined;
  cancelUrl?: string | undefined;
};

export type PresentedStatus = 'none' | 'incomplete' | 'trialing' | 'active' | 'past_due' | 'canceled' | 'unpaid';

/** Stripe's statuses in the words of API.md: the two it does not list are Basic, like their nearest kin. */
function presentStatus(status: string | undefined): PresentedStatus {
  switch (status) {
    case undefined:
      return 'none';
    case 'incomplete':
    case 'trialing':
    case 'active':
    case 'past_due':
    case 'canceled':
    case 'unpaid':
      return status;
    case 'incomplete_expired':
      return 'canceled';
    default:
      return 'unpaid'; // 'paused' and anything newer: no paid access
  }
}

/** A payment provider failure is the provider's, not ours: 502 with what the caller can do. */
async function viaProvider<T>(log: FastifyBaseLogger, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    log.error({ err: error }, `payment provider failed to ${what}`);
    throw new AppError('PAYMENT_PROVIDER_ERROR', 502, `The payment provider could not ${what}; please try again`);
  }
}

export type SubscriptionService = ReturnType<typeof createSubscriptionService>;

export function createSubscriptionService({ database: { db }, gateway, policy, clock, log, successUrl, cancelUrl }: Deps) {
  return {
    /** A Checkout Session for Pro. One Stripe customer per user, created on first use and reused. */
    async subscribePro(account: Account, baseUrl: string) {
      if (account.tier === 'pro') {
        throw new AppError('ALREADY_SUBSCRIBED', 409, 'You already have an active Pro subscription; manage it in the billing portal');
      }
      let customerId = await findStripeCustomer(db, account.id);
      if (customerId === null) {
        const created = await viaProvider(log, 'create the customer', () =>
          gateway.createCustomer({ userId: account.id, mobile: account.mobile, name: account.name, email: account.email }),
        );
        customerId = (await linkStripeCustomer(db, account.id, created)) ?? created;
      }
      const session = await viaProvider(log, 'start the checkout', () =>
        gateway.createCheckoutSession({
          userId: account.id,
          customerId: customerId,
          successUrl: successUrl ?? `${baseUrl}/?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
          cancelUrl: cancelUrl ?? `${baseUrl}/?checkout=canceled`,
          baseUrl,
        }),
      );
      // Not the session id: with the simulator it is all it takes to settle someone's checkout.
      log.info({ userId: account.id, gateway: gateway.kind }, 'checkout session created');
      return { checkoutUrl: session.url, sessionId: session.id };
    },

    async status(account: Account) {
      const now = clock.now();
      const subscription = await findCurrentSubscription(db, account.id, now);
      const usage = allowanceState(await promptsUsed(db, account.id, usageDay(now)), policy.limitFor(account.tier), now);
      return {
        tier: account.tier,
        status: presentStatus(subscription?.status),
        currentPeriodEnd: subscription?.currentPeriodEnd?.toISOString() ?? null,
        cancelAtPeriodEnd: subscription?.cancelAtPeriodEnd ?? false,
        usage: { used: usage.used, limit: usage.limit, remaining: usage.remaining, resetsAt: usage.resetsAt.toISOString() },
      };
    },

    async portal(account: Account, baseUrl: string) {
      const customerId = await findStripeCustomer(db, account.id);
      if (customerId === null) throw new AppError('NO_BILLING_ACCOUNT', 409, 'There is no billing account yet: subscribe first');
      const url = await viaProvider(log, 'open the billing portal', () =>
        gateway.createPortalSession({ customerId, returnUrl: `${baseUrl}/subscription/status`, baseUrl }),
      );
      return { url };
    },
  };
}
