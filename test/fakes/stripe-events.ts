import Stripe from 'stripe';
import { fakeStripeId } from './stripe-server.js';

/**
 * Builders for webhook payloads as Stripe would send them under the API version the SDK pins
 * (`Stripe.API_VERSION`, 2026-10-28.endive). Only the fields our handlers could plausibly read are
 * filled in, but the ones present have their real names, nesting and types.
 */

const DAY = 24 * 60 * 60;
const nowSeconds = () => Math.floor(Date.now() / 1000);

export function stripeEvent(
  type: string,
  object: Record<string, unknown>,
  opts: { id?: string; created?: number } = {},
): Record<string, unknown> {
  return {
    id: opts.id ?? fakeStripeId('evt_'),
    object: 'event',
    api_version: Stripe.API_VERSION,
    created: opts.created ?? nowSeconds(),
    type,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
  };
}

/** A subscription-mode Checkout Session after the customer paid: the shape `checkout.session.completed` carries. */
export function checkoutSessionCompletedObject(input: {
  sessionId?: string;
  customer: string;
  subscription: string;
  clientReferenceId: string;
  metadata?: Record<string, string>;
}): Record<string, unknown> {
  const created = nowSeconds() - 60;
  return {
    id: input.sessionId ?? fakeStripeId('cs_test_'),
    object: 'checkout.session',
    client_reference_id: input.clientReferenceId,
    created,
    customer: input.customer,
    expires_at: created + DAY,
    livemode: false,
    metadata: input.metadata ?? {},
    mode: 'subscription',
    payment_status: 'paid',
    status: 'complete',
    subscription: input.subscription,
    // A completed session can no longer be visited, so Stripe nulls its URL.
    url: null,
  };
}

/**
 * A subscription invoice. Since API 2025-03-31 the subscription is at `parent.subscription_details`.
 * `periodEnd` is the end of the service period the invoice pays for, which Stripe puts on the line
 * item (`lines.data[0].period.end`). The invoice's own `period_start`/`period_end` look back one
 * period (the window invoice items were collected in), so reading them as "paid until" is a bug
 * this fixture is meant to expose.
 */
export function invoiceObject(input: {
  customer: string;
  subscription: string;
  status: 'paid' | 'open';
  periodEnd?: number;
}): Record<string, unknown> {
  const periodEnd = input.periodEnd ?? nowSeconds() + 30 * DAY;
  const periodStart = periodEnd - 30 * DAY;
  const id = fakeStripeId('in_');
  const paid = input.status === 'paid';
  const amount = 1000;
  return {
    id,
    object: 'invoice',
    amount_due: amount,
    amount_paid: paid ? amount : 0,
    amount_remaining: paid ? 0 : amount,
    billing_reason: 'subscription_cycle',
    collection_method: 'charge_automatically',
    created: periodStart,
    currency: 'usd',
    customer: input.customer,
    lines: {
      object: 'list',
      data: [
        {
          id: fakeStripeId('il_'),
          object: 'line_item',
          amount,
          currency: 'usd',
          invoice: id,
          livemode: false,
          metadata: {},
          parent: {
            type: 'subscription_item_details',
            invoice_item_details: null,
            subscription_item_details: {
              invoice_item: null,
              proration: false,
              proration_details: { credited_items: null },
              subscription: input.subscription,
              subscription_item: fakeStripeId('si_'),
            },
          },
          period: { start: periodStart, end: periodEnd },
          quantity: 1,
          subscription: input.subscription,
        },
      ],
      has_more: false,
      total_count: 1,
      url: `/v1/invoices/${id}/lines`,
    },
    livemode: false,
    metadata: {},
    parent: {
      type: 'subscription_details',
      quote_details: null,
      subscription_details: { subscription: input.subscription, metadata: {} },
    },
    period_end: periodStart,
    period_start: periodStart - 30 * DAY,
    status: input.status,
    status_transitions: { finalized_at: periodStart, marked_uncollectible_at: null, paid_at: paid ? periodStart : null, voided_at: null },
    subtotal: amount,
    total: amount,
  };
}

/** The `Stripe-Signature` header Stripe would send for this exact payload string. `timestamp` is unix seconds. */
export function signWebhook(payload: string, secret: string, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}
