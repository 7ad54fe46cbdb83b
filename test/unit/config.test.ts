import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration', () => {
  it('has working defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PORT: 3000, HOST: '0.0.0.0', DATA_DIR: './data', OTP_SENDER: 'response', LOG_LEVEL: 'info' });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names the variable whose value is bad', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ JWT_SECRET: 'short' })).toThrow(/JWT_SECRET: must be at least 32 bytes/);
    expect(() => loadConfig({ PHONE_DEFAULT_REGION: 'india' })).toThrow(/PHONE_DEFAULT_REGION/);
  });

  it('requires JWT_SECRET in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET: is required when NODE_ENV=production/);
  });

  it('refuses the simulated checkout in production unless it is switched on', () => {
    const production = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), PUBLIC_BASE_URL: 'https://api.example.com', OTP_SENDER: 'log' };
    expect(() => loadConfig(production)).toThrow(/STRIPE_SECRET_KEY: is required when NODE_ENV=production/);
    expect(loadConfig({ ...production, STRIPE_SIMULATOR: 'true' }).STRIPE_SIMULATOR).toBe(true);
    const stripe = { ...production, STRIPE_SECRET_KEY: 'sk_live_x' };
    expect(() => loadConfig(stripe)).toThrow(/STRIPE_WEBHOOK_SECRET: is required when STRIPE_SECRET_KEY is set/);
    expect(loadConfig({ ...stripe, STRIPE_WEBHOOK_SECRET: 'whsec_x', STRIPE_PRICE_ID: 'price_x' }).NODE_ENV).toBe('production');
  });

  it('refuses the OTP-in-response sender in production unless it is allowed explicitly', () => {
    const production = {
      NODE_ENV: 'production',
      JWT_SECRET: 'x'.repeat(32),
      PUBLIC_BASE_URL: 'https://api.example.com',
      STRIPE_SECRET_KEY: 'sk_live_x',
      STRIPE_WEBHOOK_SECRET: 'whsec_x',
      STRIPE_PRICE_ID: 'price_x',
    };
    // The default sender is 'response': production with real Stripe keys and nothing else set must not start.
    expect(() => loadConfig(production)).toThrow(/OTP_SENDER: 'response' hands every login and reset code/);
    expect(() => loadConfig({ ...production, OTP_SENDER: 'response' })).toThrow(/OTP_SENDER/);
    expect(loadConfig({ ...production, OTP_SENDER: 'log' }).OTP_SENDER).toBe('log');
    expect(loadConfig({ ...production, ALLOW_OTP_IN_RESPONSE: 'true' }).OTP_SENDER).toBe('response');
    // Outside production the product's default stays: the code in the response.
    expect(loadConfig({}).OTP_SENDER).toBe('response');
  });

  it('requires PUBLIC_BASE_URL in production: links are never built from the Host header there', () => {
    const production = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), OTP_SENDER: 'log', STRIPE_SIMULATOR: 'true' };
    expect(() => loadConfig(production)).toThrow(/PUBLIC_BASE_URL: is required when NODE_ENV=production/);
    expect(loadConfig({ ...production, PUBLIC_BASE_URL: 'https://api.example.com' }).PUBLIC_BASE_URL).toBe('https://api.example.com');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', REDIS_URL: ' ' }).DATABASE_URL).toBeUndefined();
  });
});
