import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the Stripe API, good enough for the official `stripe` SDK pointed at it:
 *   new Stripe('sk_test_fake', { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0 })
 * It speaks the wire format the SDK uses (form-encoded bodies with bracket keys, JSON responses,
 * errors as `{ error: {...} }` with the HTTP status choosing the SDK error class) and returns
 * objects shaped like API version 2026-10-28.endive, the version stripe@23 pins.
 */

export interface RecordedStripeRequest {
  method: string;
  path: string;
  /** Decoded nested form body (POST) or query string (GET): `line_items[0][price]` becomes `line_items: [{ price }]`. */
  params: Record<string, unknown>;
  headers: Record<string, string | undefined>;
}

export type StripeSubscriptionFixture = Record<string, unknown> & {
  id: string;
  object: 'subscription';
  status: string;
  customer: string;
};

export interface FakeStripe {
  port: number;
  host: '127.0.0.1';
  requests: RecordedStripeRequest[];
  customers: Map<string, Record<string, unknown>>;
  checkoutSessions: Map<string, Record<string, unknown>>;
  subscriptions: Map<string, StripeSubscriptionFixture>;
  /** Stores (or replaces) a subscription that GET /v1/subscriptions/:id will return; returns the full object. */
  putSubscription(input: {
    id?: string;
    customer: string;
    status: 'incomplete' | 'incomplete_expired' | 'trialing' | 'active' | 'past_due' | 'canceled' | 'unpaid' | 'paused';
    priceId?: string;
    currentPeriodEnd?: number /* unix s */;
    cancelAtPeriodEnd?: boolean;
    metadata?: Record<string, string>;
    created?: number;
  }): StripeSubscriptionFixture;
  /** Makes the next N requests to this method+path prefix fail with the given status (Stripe error shape). */
  failNext(method: string, pathPrefix: string, status: number, times?: number): void;
  reset(): void;
  close(): Promise<void>;
}

type Params = Record<string, unknown>;

interface Reply {
  status: number;
  body: unknown;
}

const DAY = 24 * 60 * 60;

/** Stripe ids are a type prefix plus an opaque alphanumeric tail. */
export const fakeStripeId = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;

const nowSeconds = () => Math.floor(Date.now() / 1000);

const stripeError = (status: number, error: Record<string, unknown>): Reply => ({ status, body: { error } });

const invalidRequest = (message: string, param?: string) =>
  stripeError(400, { type: 'invalid_request_error', message, ...(param ? { param } : {}) });

const noSuch = (kind: string, id: string, param: string, status = 404) =>
  stripeError(status, { type: 'invalid_request_error', code: 'resource_missing', message: `No such ${kind}: '${id}'`, param });

/** The error Stripe would send for an injected failure; the status alone picks the SDK's error class. */
function injectedError(status: number): Reply {
  const message = `Injected failure from fake Stripe (HTTP ${status})`;
  if (status === 402) return stripeError(status, { type: 'card_error', code: 'card_declined', message });
  if (status === 429) return stripeError(status, { type: 'invalid_request_error', code: 'rate_limit', message });
  if (status >= 500) return stripeError(status, { type: 'api_error', message });
  return stripeError(status, { type: 'invalid_request_error', message });
}

/**
 * Decodes `a[b][0][c]=v` pairs into nested objects the way Stripe's server reads them. Objects keyed
 * 0..n-1 become arrays, except metadata, whose keys are the caller's own strings.
 */
function decodeStripeParams(search: URLSearchParams): Params {
  const root: Params = {};
  for (const [key, value] of search) {
    const match = /^([^[\]]+)((?:\[[^\]]*\])*)$/.exec(key);
    const path = match ? [match[1] ?? key, ...[...(match[2] ?? '').matchAll(/\[([^\]]*)\]/g)].map((m) => m[1] ?? '')] : [key];
    let node = root;
    for (const [i, segment] of path.entries()) {
      // `expand[]=x` style appends; the SDK itself always sends explicit indices.
      const name = segment === '' ? String(Object.keys(node).length) : segment;
      if (i === path.length - 1) {
        node[name] = value;
      } else {
        const next = node[name];
        node = isPlainObject(next) ? next : (node[name] = {});
      }
    }
  }
  return arrayify(root) as Params;
}

function isPlainObject(value: unknown): value is Params {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function arrayify(value: unknown, key?: string): unknown {
  if (!isPlainObject(value)) return value;
  const entries = Object.entries(value).map(([k, v]) => [k, key === 'metadata' ? v : arrayify(v, k)] as const);
  const isList = entries.length > 0 && entries.every(([k], i) => k === String(i));
  return isList && key !== 'metadata' ? entries.map(([, v]) => v) : Object.fromEntries(entries);
}

/** Stripe reads an empty form value (`email=`, what the SDK sends for null) as "not set". */
function str(params: Params, key: string): string | undefined {
  const value = params[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `metadata` arrives as a string map; `metadata=` (empty) is how the SDK sends "no metadata". */
const metadataOf = (value: unknown): Record<string, string> => {
  if (!isPlainObject(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
};

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function flattenHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

export async function startFakeStripe(): Promise<FakeStripe> {
  const requests: RecordedStripeRequest[] = [];
  const customers = new Map<string, Params>();
  const checkoutSessions = new Map<string, Params>();
  const subscriptions = new Map<string, StripeSubscriptionFixture>();
  const failures: { method: string; pathPrefix: string; status: number; remaining: number }[] = [];
  // Real Stripe replays the saved response when a POST repeats an Idempotency-Key, so a retried
  // create does not make a second customer. Only successful results are saved, as Stripe does for
  // requests that fail validation.
  const idempotent = new Map<string, { fingerprint: string; reply: Reply }>();

  function createCustomer(params: Params): Reply {
    const customer: Params = {
      id: fakeStripeId('cus_'),
      object: 'customer',
      address: null,
      balance: 0,
      created: nowSeconds(),
      default_source: null,
      delinquent: false,
      description: str(params, 'description') ?? null,
      email: str(params, 'email') ?? null,
      invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
      livemode: false,
      metadata: metadataOf(params.metadata),
      name: str(params, 'name') ?? null,
      phone: str(params, 'phone') ?? null,
      preferred_locales: [],
      shipping: null,
      tax_exempt: 'none',
      test_clock: null,
    };
    customers.set(customer.id as string, customer);
    return { status: 200, body: customer };
  }

  function createCheckoutSession(params: Params): Reply {
    const mode = str(params, 'mode');
    if (!mode) return invalidRequest('Missing required param: mode.', 'mode');
    if (!['payment', 'setup', 'subscription'].includes(mode)) {
      return invalidRequest(`Invalid mode: must be one of payment, setup, or subscription`, 'mode');
    }
    const lineItems = Array.isArray(params.line_items) ? (params.line_items as unknown[]) : [];
    const first = lineItems[0];
    if (!isPlainObject(first) || typeof first.price !== 'string' || first.price === '') {
      return invalidRequest('Missing required param: line_items[0][price].', 'line_items[0][price]');
    }
    const customer = str(params, 'customer');
    // Stripe checks the customer exists; catching stale ids here is the point of a fake.
    if (customer && !customers.has(customer)) return noSuch('customer', customer, 'customer', 400);

    const id = fakeStripeId('cs_test_');
    const created = nowSeconds();
    const session: Params = {
      id,
      object: 'checkout.session',
      amount_subtotal: null,
      amount_total: null,
      cancel_url: str(params, 'cancel_url') ?? null,
      client_reference_id: str(params, 'client_reference_id') ?? null,
      created,
      currency: null,
      customer: customer ?? null,
      customer_email: str(params, 'customer_email') ?? null,
      expires_at: created + DAY,
      invoice: null,
      livemode: false,
      metadata: metadataOf(params.metadata),
      mode,
      payment_intent: null,
      payment_status: 'unpaid',
      status: 'open',
      subscription: null,
      success_url: str(params, 'success_url') ?? null,
      ui_mode: 'hosted',
      url: `https://checkout.stripe.test/c/pay/${id}`,
    };
    checkoutSessions.set(id, session);
    return { status: 200, body: session };
  }

  function createPortalSession(params: Params): Reply {
    const customer = str(params, 'customer');
    if (!customer) return invalidRequest('Missing required param: customer.', 'customer');
    if (!customers.has(customer)) return noSuch('customer', customer, 'customer', 400);
    const id = fakeStripeId('bps_');
    return {
      status: 200,
      body: {
        id,
        object: 'billing_portal.session',
        configuration: 'bpc_fake_default',
        created: nowSeconds(),
        customer,
        customer_account: null,
        flow: null,
        livemode: false,
        locale: null,
        on_behalf_of: null,
        return_url: str(params, 'return_url') ?? null,
        url: `https://billing.stripe.test/p/session/${id}`,
      },
    };
  }

  function route(method: string, path: string, params: Params): Reply {
    const [, version, ...rest] = path.split('/');
    const resource = version === 'v1' ? rest.join('/') : '';
    const byId = /^(customers|subscriptions)\/([^/]+)$/.exec(resource);

    if (method === 'POST' && resource === 'customers') return createCustomer(params);
    if (method === 'POST' && resource === 'checkout/sessions') return createCheckoutSession(params);
    if (method === 'POST' && resource === 'billing_portal/sessions') return createPortalSession(params);
    if (method === 'GET' && byId?.[1] === 'customers') {
      const id = decodeURIComponent(byId[2] ?? '');
      const customer = customers.get(id);
      return customer ? { status: 200, body: customer } : noSuch('customer', id, 'id');
    }
    if (method === 'GET' && byId?.[1] === 'subscriptions') {
      const id = decodeURIComponent(byId[2] ?? '');
      const subscription = subscriptions.get(id);
      return subscription ? { status: 200, body: subscription } : noSuch('subscription', id, 'id');
    }
    return stripeError(404, {
      type: 'invalid_request_error',
      message: `Unrecognized request URL (${method}: ${path}). The fake Stripe server does not implement it.`,
    });
  }

  function takeFailure(method: string, path: string): Reply | undefined {
    const rule = failures.find((f) => f.method === method && path.startsWith(f.pathPrefix));
    if (!rule) return undefined;
    if (--rule.remaining === 0) failures.splice(failures.indexOf(rule), 1);
    return injectedError(rule.status);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(req);
    const params = decodeStripeParams(method === 'GET' || method === 'DELETE' ? url.searchParams : new URLSearchParams(body));
    const headers = flattenHeaders(req);
    requests.push({ method, path: url.pathname, params, headers });

    const idempotencyKey = method === 'POST' ? headers['idempotency-key'] : undefined;
    const fingerprint = JSON.stringify([method, url.pathname, params]);
    const saved = idempotencyKey ? idempotent.get(idempotencyKey) : undefined;

    let reply: Reply;
    let replayed = false;
    if (!/^Bearer sk_(test|live)_\S+$/.test(headers.authorization ?? '')) {
      reply = stripeError(401, { type: 'invalid_request_error', message: 'Invalid API Key provided' });
    } else if (saved && saved.fingerprint !== fingerprint) {
      reply = stripeError(400, {
        type: 'idempotency_error',
        message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
      });
    } else if (saved) {
      reply = saved.reply;
      replayed = true;
    } else {
      reply = takeFailure(method, url.pathname) ?? route(method, url.pathname, params);
      if (idempotencyKey && reply.status === 200) idempotent.set(idempotencyKey, { fingerprint, reply });
    }

    // The SDK lifts these onto errors and `lastResponse` (requestId, apiVersion, idempotencyKey).
    res.writeHead(reply.status, {
      'content-type': 'application/json',
      'request-id': fakeStripeId('req_'),
      'stripe-version': headers['stripe-version'] ?? '',
      ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
      ...(replayed ? { 'idempotent-replayed': 'true' } : {}),
    });
    res.end(JSON.stringify(reply.body));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'api_error', message: `Fake Stripe crashed: ${String(err)}` } }));
    });
  });
  // The SDK pools keep-alive sockets. If the server dropped an idle one just as the SDK reused it,
  // the SDK would silently retry the request; outliving any test run avoids that race. close() ends them.
  server.keepAliveTimeout = 10 * 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    port,
    host: '127.0.0.1',
    requests,
    customers,
    checkoutSessions,
    subscriptions,

    putSubscription(input) {
      const id = input.id ?? fakeStripeId('sub_');
      const created = input.created ?? nowSeconds();
      const periodEnd = input.currentPeriodEnd ?? created + 30 * DAY;
      // A month before the end, but not before the subscription existed (unless the test dated it so).
      const monthBefore = periodEnd - 30 * DAY;
      const periodStart = monthBefore < created && created < periodEnd ? created : monthBefore;
      const endedAt = input.status === 'canceled' || input.status === 'incomplete_expired' ? Math.min(nowSeconds(), periodEnd) : null;
      const subscription: StripeSubscriptionFixture = {
        id,
        object: 'subscription',
        billing_cycle_anchor: periodStart,
        cancel_at: input.cancelAtPeriodEnd ? periodEnd : null,
        cancel_at_period_end: input.cancelAtPeriodEnd ?? false,
        canceled_at: endedAt,
        collection_method: 'charge_automatically',
        created,
        currency: 'usd',
        customer: input.customer,
        ended_at: endedAt,
        // Since API 2025-03-31 the billing period lives on each item, not on the subscription.
        items: {
          object: 'list',
          data: [
            {
              id: fakeStripeId('si_'),
              object: 'subscription_item',
              created,
              current_period_end: periodEnd,
              current_period_start: periodStart,
              metadata: {},
              price: { id: input.priceId ?? 'price_fake_default', object: 'price' },
              quantity: 1,
              subscription: id,
            },
          ],
          has_more: false,
          total_count: 1,
          url: `/v1/subscription_items?subscription=${id}`,
        },
        latest_invoice: null,
        livemode: false,
        metadata: input.metadata ?? {},
        start_date: created,
        status: input.status,
        trial_end: input.status === 'trialing' ? periodEnd : null,
        trial_start: input.status === 'trialing' ? periodStart : null,
      };
      subscriptions.set(id, subscription);
      return subscription;
    },

    failNext(method, pathPrefix, status, times = 1) {
      failures.push({ method: method.toUpperCase(), pathPrefix, status, remaining: times });
    },

    // Clears in place so a test holding `fake.requests` or a map keeps seeing the live state.
    reset() {
      requests.length = 0;
      customers.clear();
      checkoutSessions.clear();
      subscriptions.clear();
      failures.length = 0;
      idempotent.clear();
    },

    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
