import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { TestApp } from './app.js';
import { bearer, type SignedInUser } from './factories.js';
import { signWebhook } from '../fakes/stripe-events.js';

export const WEBHOOK_SECRET = 'whsec_test_secret_for_the_suite';

/** Delivers an event to /webhook/stripe the way Stripe does: the raw JSON body, signed. */
export function deliverEvent(
  t: TestApp,
  event: Record<string, unknown>,
  options: { secret?: string; timestamp?: number; body?: string } = {},
): Promise<LightMyRequestResponse> {
  const payload = JSON.stringify(event);
  const timestamp = options.timestamp ?? Math.floor(t.clock.now().getTime() / 1000);
  return t.request({
    method: 'POST',
    url: '/webhook/stripe',
    payload: options.body ?? payload,
    headers: { 'content-type': 'application/json', 'stripe-signature': signWebhook(payload, options.secret ?? WEBHOOK_SECRET, timestamp) },
  });
}

export async function expectDelivered(t: TestApp, event: Record<string, unknown>) {
  const res = await deliverEvent(t, event);
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json()).toEqual({ received: true });
}

export interface SubscriptionStatus {
  tier: 'basic' | 'pro';
  status: string;
  currentPeriodEnd: string | null;
  cancelAtPeriodEnd: boolean;
  usage: { used: number; limit: number | null; remaining: number | null; resetsAt: string };
}

export async function statusOf(t: TestApp, user: SignedInUser): Promise<SubscriptionStatus> {
  const res = await t.request({ method: 'GET', url: '/subscription/status', headers: bearer(user.accessToken) });
  expect(res.statusCode).toBe(200);
  return res.json<SubscriptionStatus>();
}

export async function subscribe(t: TestApp, user: SignedInUser): Promise<{ checkoutUrl: string; sessionId: string }> {
  const res = await t.request({ method: 'POST', url: '/subscribe/pro', headers: bearer(user.accessToken) });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}
