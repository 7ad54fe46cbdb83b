import { randomBytes } from 'node:crypto';
import type { Clock } from '../../infra/clock.js';
import type { CheckoutRequest, NewCustomer, PaymentGateway, StripeSubscription } from './payment-gateway.js';

export const SIMULATED_PRICE_ID = 'price_simulated_pro';
const PERIOD_SECONDS = 30 * 24 * 3600;
/** Stripe's default lifetime of a Checkout Session; the simulator's portal sessions live as long. */
export const SIMULATED_SESSION_TTL_MS = 24 * 3600 * 1000;

const simId = (prefix: string) => `${prefix}_sim_${randomBytes(10).toString('hex')}`;

interface SimulatedSession {
  id: string;
  userId: string;
  customerId: string;
  successUrl: string;
  cancelUrl: string;
  state: 'open' | 'paid' | 'declined';
  expiresAt: number;
}

export type CheckoutOutcome = 'paid' | 'declined';

/** A Stripe-shaped event, ready to be signed and posted to /webhook/stripe. */
export interface SimulatedEvent {
  id: string;
  object: 'event';
  type: string;
  created: number;
  api_version: string;
  livemode: false;
  data: { object: Record<string, unknown> };
}

export interface SimulatedGateway extends PaymentGateway {
  readonly kind: 'simulated';
  findSession(id: string): Readonly<SimulatedSession> | undefined;
  /** Settles an open checkout and returns the events real Stripe would send for it. */
  completeCheckout(sessionId: string, outcome: CheckoutOutcome): SimulatedEvent[];
  /** The customer behind a simulated portal session. */
  findPortalCustomer(portalSessionId: string): string | undefined;
  /** Cancels the customer's live subscriptions at once, as the portal would. */
  cancelSubscriptions(customerId: string): SimulatedEvent[];
}

/**
 * Stands in for Stripe when no keys are configured: the checkout is a page of this server, and
 * paying or declining produces the same events Stripe would send, which then go through the real
 * webhook (signature check included). State lives in this process: it is a development tool.
 */
export function createSimulatedGateway(clock: Clock): SimulatedGateway {
  const sessions = new Map<string, SimulatedSession>();
  const subscriptions = new Map<string, StripeSubscription>();
  const portalSessions = new Map<string, { customerId: string; expiresAt: number }>();
  const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);

  /*
   * Sessions expire like Stripe's, and expired ones are dropped: the maps hold at most a day of
   * sessions (bounded further by the per-user checkout limit), never everything since start-up.
   * Maps iterate in insertion order and every session lives as long, so the expired ones come first.
   */
  function dropExpired(map: Map<string, { expiresAt: number }>) {
    const now = clock.now().getTime();
    for (const [id, entry] of map) {
      if (entry.expiresAt > now) break;
      map.delete(id);
    }
  }
  const live = <T extends { expiresAt: number }>(entry: T | undefined) =>
    entry && entry.expiresAt > clock.now().getTime() ? entry : undefined;
  const expiry = () => clock.now().getTime() + SIMULATED_SESSION_TTL_MS;

  const event = (type: string, object: Record<string, unknown>): SimulatedEvent => ({
    id: simId('evt'),
    object: 'event',
    type,
    created: nowSeconds(),
    api_version: '2026-10-28.endive',
    livemode: false,
    data: { object },
  });

  const subscriptionObject = (subscription: StripeSubscription) => ({ object: 'subscription', ...subscription });

  return {
    kind: 'simulated',
    createCustomer: (_customer: NewCustomer) => Promise.resolve(simId('cus')),

    createCheckoutSession({ userId, customerId, successUrl, cancelUrl, baseUrl }: CheckoutRequest) {
      dropExpired(sessions);
      const id = simId('cs');
      sessions.set(id, { id, userId, customerId, successUrl, cancelUrl, state: 'open', expiresAt: expiry() });
      return Promise.resolve({ id, url: `${baseUrl}/subscribe/simulated/${id}` });
    },

    retrieveSubscription: (id: string) => Promise.resolve(subscriptions.get(id)),

    createPortalSession({ customerId, baseUrl }) {
      dropExpired(portalSessions);
      const id = simId('bps');
      portalSessions.set(id, { customerId, expiresAt: expiry() });
      return Promise.resolve(`${baseUrl}/subscribe/simulated/portal/${id}`);
    },

    findSession: (id) => live(sessions.get(id)),
    findPortalCustomer: (id) => live(portalSessions.get(id))?.customerId,

    completeCheckout(sessionId, outcome) {
      const session = live(sessions.get(sessionId));
      if (!session || session.state !== 'open') return [];
      session.state = outcome;
      const created = nowSeconds();
      const subscription: StripeSubscription = {
        id: simId('sub'),
        customer: session.customerId,
        status: outcome === 'paid' ? 'active' : 'incomplete',
        cancel_at_period_end: false,
        metadata: { userId: session.userId },
        items: { data: [{ current_period_end: created + PERIOD_SECONDS, price: { id: SIMULATED_PRICE_ID } }] },
      };
      subscriptions.set(subscription.id, subscription);
      const invoice = {
        id: simId('in'),
        object: 'invoice',
        customer: session.customerId,
        status: outcome === 'paid' ? 'paid' : 'open',
        parent: { type: 'subscription_details', subscription_details: { subscription: subscription.id, metadata: {} } },
      };
      const checkout = {
        id: session.id,
        object: 'checkout.session',
        mode: 'subscription',
        status: 'complete',
        payment_status: 'paid',
        customer: session.customerId,
        client_reference_id: session.userId,
        subscription: subscription.id,
        metadata: { userId: session.userId },
      };
      return outcome === 'paid'
        ? [
            event('customer.subscription.created', subscriptionObject(subscription)),
            event('checkout.session.completed', checkout),
            event('invoice.paid', invoice),
          ]
        : [event('customer.subscription.created', subscriptionObject(subscription)), event('invoice.payment_failed', invoice)];
    },

    cancelSubscriptions(customerId) {
      const events: SimulatedEvent[] = [];
      for (const subscription of subscriptions.values()) {
        if (subscription.customer !== customerId || subscription.status === 'canceled') continue;
        subscription.status = 'canceled';
        events.push(event('customer.subscription.deleted', subscriptionObject(subscription)));
      }
      return events;
    },
  };
}
