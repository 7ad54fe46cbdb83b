import { randomInt } from 'node:crypto';
import { expect } from 'vitest';
import type { TestApp } from './app.js';

/** A valid Indian mobile number no other test uses (E.164). */
export const makeMobile = () => `+9198${String(randomInt(0, 100_000_000)).padStart(8, '0')}`;

export interface SignedInUser {
  id: string;
  mobile: string;
  accessToken: string;
  refreshToken: string;
  password?: string;
}

export const json = (body: unknown) => ({ payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

export interface OtpIssued {
  otp: string;
  expiresAt: string;
  purpose: string;
  mobile: string;
}

/**
 * POST /auth/signup only: the number is not proved yet (no password login until its `verification`
 * code is verified, as signIn does).
 */
export async function signUp(t: TestApp, overrides: { password?: string; name?: string; email?: string } = {}) {
  const mobile = makeMobile();
  const res = await t.request({ method: 'POST', url: '/auth/signup', ...json({ mobile, ...overrides }) });
  expect(res.statusCode, res.body).toBe(201);
  const body = res.json<{ user: { id: string }; verification: OtpIssued }>();
  return { mobile, user: body.user, verification: body.verification };
}

export async function sendOtp(t: TestApp, mobile: string, url = '/auth/send-otp') {
  const res = await t.request({ method: 'POST', url, ...json({ mobile }) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<OtpIssued>();
}

/**
 * Signs up and proves the number with the signup code, the way the product is meant to be used:
 * the password given (if any) is in effect afterwards.
 */
export async function signIn(t: TestApp, overrides: { password?: string } = {}): Promise<SignedInUser> {
  const { mobile, user, verification } = await signUp(t, overrides);
  const res = await t.request({ method: 'POST', url: '/auth/verify-otp', ...json({ mobile, otp: verification.otp }) });
  expect(res.statusCode, res.body).toBe(200);
  const pair = res.json<{ accessToken: string; refreshToken: string }>();
  return { id: user.id, mobile, accessToken: pair.accessToken, refreshToken: pair.refreshToken, ...overrides };
}

export const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` });
