import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { bearer, json, makeMobile, signIn } from './helpers/factories.js';
import { subscribe } from './helpers/stripe.js';
import { multipart } from './helpers/uploads.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ captureLogs: true });
});
afterAll(() => t.close());

describe('logs', () => {
  it('never contain an OTP, a password or a token, even at trace level', async () => {
    const mobile = makeMobile();
    const password = 'a very secret password 42';
    await t.request({ method: 'POST', url: '/auth/signup', ...json({ mobile, password }) });
    const otp = (await t.request({ method: 'POST', url: '/auth/send-otp', ...json({ mobile }) })).json().otp as string;
    const pair = (await t.request({ method: 'POST', url: '/auth/verify-otp', ...json({ mobile, otp }) })).json();
    const refreshed = (await t.request({ method: 'POST', url: '/auth/refresh', ...json({ refreshToken: pair.refreshToken }) })).json();
    await t.request({ method: 'GET', url: '/user/me', headers: bearer(refreshed.accessToken) });
    // An upload: multipart parsing logs its options at trace, request headers included.
    const fileBody = 'the contents of a private file, 8c1f';
    const uploaded = multipart([{ field: 'file', fileName: 'private.txt', body: fileBody }]);
    const upload = await t.request({ method: 'POST', url: '/files', payload: uploaded.payload, headers: { ...bearer(refreshed.accessToken), ...uploaded.headers } });
    expect(upload.statusCode).toBe(201);
    await t.request({ method: 'POST', url: '/auth/login', ...json({ mobile, password }) });
    await t.request({ method: 'POST', url: '/auth/refresh', ...json({ refreshToken: pair.refreshToken }) }); // reuse: logged as a warning
    await t.request({ method: 'GET', url: '/user/me', headers: bearer('tampered.' + String(pair.accessToken)) });

    const output = t.logs.join('');
    expect(t.logs.length).toBeGreaterThan(10); // the requests above were logged
    expect(output).toContain('/auth/verify-otp');
    // Each request's lines carry its id (request.log is made lazily, when a request first logs).
    const completed = t.logs.map((line) => JSON.parse(line) as { msg?: string; reqId?: unknown }).filter((line) => line.msg === 'request completed');
    expect(completed.length).toBeGreaterThanOrEqual(8);
    expect(completed.every((line) => typeof line.reqId === 'string' && line.reqId.length > 0)).toBe(true);
    for (const secret of [otp, password, pair.accessToken, pair.refreshToken, refreshed.accessToken, refreshed.refreshToken, fileBody]) {
      expect(output).not.toContain(secret);
    }
  });
});

describe('requests the router could not place', () => {
  it('an over-long path id is logged like any request (it reaches its route), and so is a malformed URL', async () => {
    const before = t.logs.length;
    const longId = await t.request({ method: 'GET', url: `/chatroom/${'a'.repeat(101)}` });
    expect(longId.statusCode).toBe(401);
    const malformed = await t.request({ method: 'GET', url: '/chatroom/%E0%A4%A' });
    expect(malformed.statusCode).toBe(400);
    const lines = t.logs.slice(before).map((line) => JSON.parse(line) as { msg?: string; reqId?: string; res?: { statusCode?: number } });
    expect(lines.filter((line) => line.reqId === longId.headers['x-request-id'] && line.msg === 'request completed')).toEqual([
      expect.objectContaining({ res: expect.objectContaining({ statusCode: 401 }) }),
    ]);
    expect(lines.some((line) => line.reqId === malformed.headers['x-request-id'] && line.msg === 'request refused before routing')).toBe(true);
  });
});

describe('simulated checkout logs', () => {
  it('never carry a checkout or portal session id: each is what it takes to settle that checkout', async () => {
    const user = await signIn(t);
    const { checkoutUrl, sessionId } = await subscribe(t, user);
    const path = new URL(checkoutUrl).pathname;
    await t.request({ method: 'GET', url: path });
    await t.request({ method: 'POST', url: path, ...json({ outcome: 'paid' }) });
    const portal = (await t.request({ method: 'POST', url: '/subscription/portal', headers: bearer(user.accessToken) })).json<{ url: string }>();
    const portalPath = new URL(portal.url).pathname;
    await t.request({ method: 'GET', url: portalPath });

    const output = t.logs.join('');
    expect(output).toContain('/subscribe/simulated/[redacted]'); // the requests were logged, without the id
    expect(output).toContain('/subscribe/simulated/portal/[redacted]');
    expect(output).not.toContain(sessionId);
    expect(output).not.toContain(portalPath.split('/').at(-1));
  });
});

describe('start-up warnings', () => {
  it('says loudly that production runs with the OTP-in-response sender when it is allowed', async () => {
    const production = await startTestApp({
      captureLogs: true,
      env: { NODE_ENV: 'production', ALLOW_OTP_IN_RESPONSE: 'true', STRIPE_SIMULATOR: 'true', PUBLIC_BASE_URL: 'https://api.example.com' },
    });
    try {
      const warnings = production.logs.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((line) => line.level === 40);
      expect(warnings.map((line) => line.msg)).toContainEqual(expect.stringMatching(/^OTP_SENDER=response IN PRODUCTION/));
    } finally {
      await production.close();
    }
  });
});
