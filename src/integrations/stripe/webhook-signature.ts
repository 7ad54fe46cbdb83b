import Stripe from 'stripe';
import { InvalidSignatureError, MalformedEventError, stripeEventSchema, type StripeEvent, type WebhookVerifier } from './payment-gateway.js';

// The same checks for real and simulated events: raw body, secret, and a timestamp within 5 minutes.
export function createWebhookVerifier(secret: string, now: () => Date): WebhookVerifier {
  return {
    verify(rawBody, signature): StripeEvent {
      if (!signature) throw new InvalidSignatureError('The Stripe-Signature header is missing');
      let event: unknown;
      try {
        // receivedAt is in milliseconds (the SDK divides by 1000).
        event = Stripe.webhooks.constructEvent(rawBody, signature, secret, 300, undefined, now().getTime());
      } catch (error) {
        throw new InvalidSignatureError((error as Error).message);
      }
      const parsed = stripeEventSchema.safeParse(event);
      if (!parsed.success) throw new MalformedEventError('The payload is signed but is not a Stripe event');
      return parsed.data;
    },
  };
}

export function signPayload(payload: string, secret: string, now: Date): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: Math.floor(now.getTime() / 1000) });
}
