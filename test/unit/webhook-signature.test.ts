import { describe, expect, it } from 'vitest';
import { InvalidSignatureError, MalformedEventError } from '../../src/integrations/stripe/payment-gateway.js';
import { createWebhookVerifier, signPayload } from '../../src/integrations/stripe/webhook-signature.js';

/* Stripe webhooks (README "Billing"): only events Stripe signed, recently, change a subscription. */

const SECRET = 'whsec_unit_test_secret';
const receivedAt = new Date('2026-06-01T12:00:00Z');
const minutes = (n: number) => new Date(receivedAt.getTime() + n * 60_000);
const event = JSON.stringify({ id: 'evt_1', type: 'customer.subscription.updated', created: 1_780_000_000, data: { object: { id: 'sub_1' } } });
const verifier = createWebhookVerifier(SECRET, () => receivedAt);

describe('webhook signatures', () => {
  it('accept an event Stripe signed, and hand it over parsed', async () => {
    const signature = await signPayload(event, SECRET, receivedAt);
    await expect(verifier.verify(Buffer.from(event), signature)).resolves.toMatchObject({ id: 'evt_1', type: 'customer.subscription.updated' });
  });

  it('refuse a request without the Stripe-Signature header', async () => {
    await expect(verifier.verify(Buffer.from(event), undefined)).rejects.toThrow(InvalidSignatureError);
  });

  it('refuse an event signed with another secret, or altered after signing', async () => {
    await expect(verifier.verify(Buffer.from(event), await signPayload(event, 'whsec_someone_else', receivedAt))).rejects.toThrow(InvalidSignatureError);
    const altered = event.replace('sub_1', 'sub_2');
    await expect(verifier.verify(Buffer.from(altered), await signPayload(event, SECRET, receivedAt))).rejects.toThrow(InvalidSignatureError);
  });

  it('accept a signature up to five minutes old or early (clock skew), and refuse one beyond, either way (a replay)', async () => {
    for (const at of [minutes(-4), minutes(4)]) await expect(verifier.verify(Buffer.from(event), await signPayload(event, SECRET, at))).resolves.toBeDefined();
    for (const at of [minutes(-6), minutes(6)]) await expect(verifier.verify(Buffer.from(event), await signPayload(event, SECRET, at))).rejects.toThrow(InvalidSignatureError);
  });

  it('refuse a signed payload that is not a Stripe event as malformed, not as forged', async () => {
    const notAnEvent = JSON.stringify({ hello: 'world' });
    await expect(verifier.verify(Buffer.from(notAnEvent), await signPayload(notAnEvent, SECRET, receivedAt))).rejects.toThrow(MalformedEventError);
  });
});
