import type Stripe from 'stripe';
import { stripeSubscriptionSchema, type CheckoutRequest, type NewCustomer, type PaymentGateway } from './payment-gateway.js';

export interface StripeGatewayOptions {
  secretKey: string;
  priceId: string;
  /** A test server instead of api.stripe.com. */
  apiBaseUrl?: string | undefined;
  maxNetworkRetries: number;
}

function endpointOf(apiBaseUrl: string | undefined) {
  if (!apiBaseUrl) return {};
  const url = new URL(apiBaseUrl);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return { host: url.hostname, port: Number(url.port || (protocol === 'http' ? 80 : 443)), protocol } as const;
}

/** Only this folder imports `stripe`. The SDK pins its API version (2026-10-28). */
export function createStripeGateway({ secretKey, priceId, apiBaseUrl, maxNetworkRetries }: StripeGatewayOptions): PaymentGateway {
  // Loaded on first use: a worker never calls Stripe, and an api process holds the SDK only once it does.
  // Retries are safe: the SDK sends an idempotency key with every POST and reuses it when retrying.
  let loading: Promise<{ stripe: Stripe; Sdk: typeof Stripe }> | undefined;
  const sdk = () =>
    (loading ??= import('stripe').then(({ default: Sdk }) => ({ Sdk, stripe: new Sdk(secretKey, { maxNetworkRetries, timeout: 20_000, ...endpointOf(apiBaseUrl) }) })));

  return {
    kind: 'stripe',
    async createCustomer({ userId, mobile, name, email }: NewCustomer) {
      const { stripe } = await sdk();
      const customer = await stripe.customers.create(
        { phone: mobile, ...(name ? { name } : {}), ...(email ? { email } : {}), metadata: { userId } },
        // Two racing first checkouts of one user get the same customer back, not two.
        { idempotencyKey: `customer-for-user-${userId}` },
      );
      return customer.id;
    },
    async createCheckoutSession({ userId, customerId, successUrl, cancelUrl }: CheckoutRequest) {
      const { stripe } = await sdk();
      const session = await stripe.checkout.sessions.create({
        mode: 'subscription',
        customer: customerId,
        client_reference_id: userId,
        line_items: [{ price: priceId, quantity: 1 }],
        success_url: successUrl,
        cancel_url: cancelUrl,
        metadata: { userId },
        subscription_data: { metadata: { userId } },
      });
      if (!session.url) throw new Error(`Stripe returned checkout session ${session.id} without a url`);
      return { id: session.id, url: session.url };
    },
    async retrieveSubscription(id: string) {
      const { stripe, Sdk } = await sdk();
      try {
        return stripeSubscriptionSchema.parse(await stripe.subscriptions.retrieve(id));
      } catch (error) {
        // "No such subscription" is an answer, not a failure: retrying it would fail the same way for days.
        if (error instanceof Sdk.errors.StripeInvalidRequestError && error.code === 'resource_missing') return undefined;
        throw error;
      }
    },
    async createPortalSession({ customerId, returnUrl }) {
      const { stripe } = await sdk();
      const session = await stripe.billingPortal.sessions.create({ customer: customerId, return_url: returnUrl });
      return session.url;
    },
  };
}
