import type Stripe from 'stripe';
import { InvalidSignatureError, MalformedEventError, stripeEventSchema, type StripeEvent, type WebhookVerifier } from './payment-gateway.js';

const TOLERANCE_SECONDS = 300;

/** The `t=` of a Stripe-Signature header, in seconds. */
const signedAtOf = (signature: string) => Number(/(?:^|,)\s*t=(\d{1,12})(?:,|$)/.exec(signature)?.[1] ?? Number.NaN);

/** The SDK's static helpers, loaded on the first webhook: most processes never see one (a worker, never). */
let sdk: Promise<typeof Stripe> | undefined;
const stripeSdk = () => (sdk ??= import('stripe').then((module) => module.default));

// The same checks for real and simulated events: raw body, secret, and a timestamp within 5 minutes either way.
export function createWebhookVerifier(secret: string, now: () => Date): WebhookVerifier {
  return {
    async verify(rawBody, signature): Promise<StripeEvent> {
      if (!signature) throw new InvalidSignatureError('The Stripe-Signature header is missing');
      const { webhooks } = await stripeSdk();
      let event: unknown;
      const receivedAtMs = now().getTime();
      try {
        // receivedAt is in milliseconds (the SDK divides by 1000).
        event = webhooks.constructEvent(rawBody, signature, secret, TOLERANCE_SECONDS, undefined, receivedAtMs);
      } catch (error) {
        throw new InvalidSignatureError((error as Error).message);
      }
      // The SDK only refuses old timestamps: a signature dated in the future would stay replayable until then.
      if (signedAtOf(signature) * 1000 > receivedAtMs + TOLERANCE_SECONDS * 1000) {
        throw new InvalidSignatureError('Timestamp outside the tolerance zone (in the future)');
      }
      const parsed = stripeEventSchema.safeParse(event);
      if (!parsed.success) throw new MalformedEventError('The payload is signed but is not a Stripe event');
      return parsed.data;
    },
  };
}

export async function signPayload(payload: string, secret: string, now: Date): Promise<string> {
  return (await stripeSdk()).webhooks.generateTestHeaderString({ payload, secret, timestamp: Math.floor(now.getTime() / 1000) });
}
