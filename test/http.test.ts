import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { BODY_LIMIT_BYTES: '2048' } });
});
afterAll(() => t.close());

function expectProblem(res: { statusCode: number; headers: Record<string, unknown>; json: () => unknown }, status: number, code: string) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toContain('application/problem+json');
  const body = res.json() as Record<string, unknown>;
  expect(body).toMatchObject({ type: 'about:blank', status, code });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(body.requestId).toBe(res.headers['x-request-id']);
}

describe('problem responses for the framework\'s own errors', () => {
  it('unknown route: 404 NOT_FOUND', async () => {
    expectProblem(await t.request({ method: 'GET', url: '/no/such/route' }), 404, 'NOT_FOUND');
  });

  it('malformed JSON: 400 INVALID_JSON', async () => {
    const res = await t.request({ method: 'POST', url: '/auth/signup', payload: '{"mobile":', headers: { 'content-type': 'application/json' } });
    expectProblem(res, 400, 'INVALID_JSON');
  });

  it('body over the limit: 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await t.request({
      method: 'POST',
      url: '/auth/signup',
      payload: JSON.stringify({ mobile: '+919876543210', name: 'x'.repeat(4096) }),
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('wrong content type: 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const res = await t.request({ method: 'POST', url: '/auth/signup', payload: 'mobile=1', headers: { 'content-type': type } });
      expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('routing errors (an over-long path segment, a malformed URL) are problems too', async () => {
    expectProblem(await t.request({ method: 'GET', url: `/chatroom/${'x'.repeat(150)}` }), 404, 'NOT_FOUND');
    expectProblem(await t.request({ method: 'GET', url: '/chatroom/%E0%A4%A' }), 400, 'VALIDATION_FAILED');
  });

  it('keeps a sane caller-supplied X-Request-Id and replaces an unsafe one', async () => {
    const kept = await t.request({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(kept.headers['x-request-id']).toBe('abc-123');
    const replaced = await t.request({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id\nwith newline' } });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('operations', () => {
  it('/healthz answers 200', async () => {
    const res = await t.request({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz reports each dependency', async () => {
    const res = await t.request({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    const { checks } = res.json();
    expect(checks.database).toBe('ok');
    expect(checks.redis).toBe(t.container.redis ? 'ok' : 'not configured');
    expect(checks.queue).toBe('ok');
  });

  it('sets security headers on every response, errors and unknown routes included', async () => {
    for (const [method, url] of [['GET', '/healthz'], ['GET', '/user/me'], ['GET', '/no-such-route']] as const) {
      const res = await t.request({ method, url });
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['strict-transport-security'], url).toBe('max-age=31536000; includeSubDomains');
      expect(res.headers['x-frame-options'], url).toBe('SAMEORIGIN');
      expect(res.headers['content-security-policy'], url).toContain("img-src 'self' data: blob: validator.swagger.io");
      expect(res.headers['cross-origin-opener-policy'], url).toBe('same-origin');
    }
  });

  it('documents every operation for client generators: a unique camelCase operationId, a summary, its security and its problem responses', async () => {
    const doc = (await t.request({ method: 'GET', url: '/openapi.json' })).json();
    type Operation = { operationId: string; summary: unknown; security: unknown };
    const operations = Object.values(doc.paths as Record<string, Record<string, Operation>>).flatMap((item) => Object.values(item));
    const ids = operations.map((operation) => operation.operationId);
    expect(ids.every((id) => /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(operations.every((operation) => typeof operation.summary === 'string' && Array.isArray(operation.security))).toBe(true);
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })]);

    const me = doc.paths['/user/me'].get;
    expect(me.security).toEqual([{ bearerAuth: [] }]);
    expect(me.responses['401'].content['application/problem+json'].schema.$ref).toBe('#/components/schemas/Problem');
    expect(doc.paths['/auth/signup'].post.security).toEqual([]);
    expect(Object.keys(doc.paths['/chatroom/{id}/message'].post.responses)).toEqual(expect.arrayContaining(['400', '401', '404', '429']));
    expect(doc.components.schemas.Problem.required).toEqual(expect.arrayContaining(['code', 'status', 'requestId']));
  });

  it('serves an OpenAPI 3 document generated from the route schemas, and Swagger UI', async () => {
    const doc = (await t.request({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/auth/signup', '/auth/verify-otp', '/user/me']));
    expect(doc.paths['/auth/signup'].post.requestBody.content['application/json'].schema.properties).toHaveProperty('mobile');
    const ui = await t.request({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toContain('text/html');
  });
});
