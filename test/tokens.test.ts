import { SignJWT, base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveAuthKeys } from '../src/modules/auth/secrets.js';
import { TEST_JWT_SECRET, startTestApp, type TestApp } from './helpers/app.js';
import { bearer, signIn, type SignedInUser } from './helpers/factories.js';

let t: TestApp;
let user: SignedInUser;
beforeAll(async () => {
  t = await startTestApp();
  user = await signIn(t);
});
afterAll(() => t.close());

const me = (token: string) => t.request({ method: 'GET', url: '/user/me', headers: bearer(token) });
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;

async function expectUnauthorized(token: string) {
  const res = await me(token);
  expect(res.statusCode).toBe(401);
  expect(res.json().code).toBe('UNAUTHORIZED');
}

describe('access tokens', () => {
  it('accepts the token it issued', async () => {
    expect((await me(user.accessToken)).statusCode).toBe(200);
  });

  it('refuses a token whose payload was tampered with', async () => {
    const [header, , signature] = user.accessToken.split('.');
    const forged = base64url.encode(JSON.stringify({ ...claimsOf(user.accessToken), sub: '00000000-0000-4000-8000-000000000000' }));
    await expectUnauthorized(`${header}.${forged}.${signature}`);
  });

  it('refuses a token once it has expired, even one it accepted a moment before', async () => {
    const fresh = await signIn(t);
    expect((await me(fresh.accessToken)).statusCode).toBe(200);
    t.clock.advance(15 * 60 * 1000 + 1000);
    try {
      await expectUnauthorized(fresh.accessToken);
    } finally {
      t.clock.advance(-(15 * 60 * 1000 + 1000));
    }
    expect((await me(fresh.accessToken)).statusCode).toBe(200);
  });

  it('refuses alg "none"', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const payload = base64url.encode(JSON.stringify(claimsOf(user.accessToken)));
    await expectUnauthorized(`${header}.${payload}.`);
  });

  it('refuses a correctly signed token for another audience or issuer', async () => {
    const { jwt } = deriveAuthKeys(TEST_JWT_SECRET);
    const claims = claimsOf(user.accessToken);
    const now = Math.floor(t.clock.now().getTime() / 1000);
    const sign = (audience: string, issuer: string) =>
      new SignJWT({ sid: claims.sid })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(String(claims.sub))
        .setAudience(audience)
        .setIssuer(issuer)
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(jwt);
    // The same key with the right claims passes, so the refusals below are about audience and issuer.
    expect((await me(await sign('gemini-chat-api', 'gemini-chat-backend'))).statusCode).toBe(200);
    await expectUnauthorized(await sign('another-api', 'gemini-chat-backend'));
    await expectUnauthorized(await sign('gemini-chat-api', 'someone-else'));
  });

  it('refuses a token signed with another secret', async () => {
    const claims = claimsOf(user.accessToken);
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('another-secret-that-is-also-32-bytes-long'));
    await expectUnauthorized(token);
  });

  it('does not freeze the user in the token: /user/me reads the current record', async () => {
    const res = await me(user.accessToken);
    expect(claimsOf(user.accessToken)).not.toHaveProperty('tier');
    expect(res.json().tier).toBe('basic');
  });
});
