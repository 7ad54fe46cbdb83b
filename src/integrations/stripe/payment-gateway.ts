import { z } from 'zod';

/** The parts of a Stripe subscription (API 2026-10-28) that the app mirrors. */
export const stripeSubscriptionSchema = z.object({
  id: z.string(),
  customer: z.union([z.string(), z.object({ id: z.string() }).transform((customer) => customer.id)]),
  status: z.string(),
  cancel_at_period_end: z.boolean().default(false),
  metadata: z.record(z.string(), z.string()).default({}),
  // Since API 2025-03-31 the period lives on the items, not on the subscription.
  items: z
    .object({
      data: z.array(z.object({ current_period_end: z.number().optional(), price: z.object({ id: z.string() }).optional() })),
    })
    .default({ data: [] }),
});
export type StripeSubscription = z.infer<typeof stripeSubscriptionSchema>;

export const stripeEventSchema = z.object({
  id: z.string(),
  type: z.string(),
  created: z.number(),
  data: z.object({ object: z.record(z.string(), z.unknown()) }),
});
export type StripeEvent = z.infer<typeof stripeEventSchema>;

export interface NewCustomer {
  userId: string;
  mobile: string;
  name: string | null;
  email: string | null;
}

export interface CheckoutRequest {
  userId: string;
  customerId: string;
  successUrl: string;
  cancelUrl: string;
  /** Where this server is reached, for the simulator's own checkout page. */
  baseUrl: string;
}

/** Stripe, or the simulator that stands in for it without keys. */
export interface PaymentGateway {
  readonly kind: 'stripe' | 'simulated';
  createCustomer(customer: NewCustomer): Promise<string>;
  createCheckoutSession(request: CheckoutRequest): Promise<{ id: string; url: string }>;
  /** Undefined when the provider has no such subscription (deleted, another account, or a forged id). */
  retrieveSubscription(id: string): Promise<StripeSubscription | undefined>;
  createPortalSession(request: { customerId: string; returnUrl: string; baseUrl: string }): Promise<string>;
}

export class InvalidSignatureError extends Error {
  override name = 'InvalidSignatureError';
}

export class MalformedEventError extends Error {
  override name = 'MalformedEventError';
}

/** Checks a webhook's Stripe-Signature over the raw body. */
export interface WebhookVerifier {
  verify(rawBody: Buffer, signature: string | undefined): Promise<StripeEvent>;
}
