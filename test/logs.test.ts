import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { bearer, json, makeMobile } from './helpers/factories.js';

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
    await t.request({ method: 'POST', url: '/auth/login', ...json({ mobile, password }) });
    await t.request({ method: 'POST', url: '/auth/refresh', ...json({ refreshToken: pair.refreshToken }) }); // reuse: logged as a warning
    await t.request({ method: 'GET', url: '/user/me', headers: bearer('tampered.' + String(pair.accessToken)) });

    const output = t.logs.join('');
    expect(t.logs.length).toBeGreaterThan(10); // the requests above were logged
    expect(output).toContain('/auth/verify-otp');
    for (const secret of [otp, password, pair.accessToken, pair.refreshToken, refreshed.accessToken, refreshed.refreshToken]) {
      expect(output).not.toContain(secret);
    }
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
