import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, modelChoices } from '../../src/config.js';

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

describe('configuration values', () => {
  const production = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), PUBLIC_BASE_URL: 'https://api.example.com', OTP_SENDER: 'log', STRIPE_SIMULATOR: 'true' };

  it('migrates on start outside production only, unless told otherwise (replicas must not race a migration)', () => {
    expect(loadConfig({}).MIGRATE_ON_START).toBe(true);
    expect(loadConfig(production).MIGRATE_ON_START).toBe(false);
    expect(loadConfig({ ...production, MIGRATE_ON_START: 'true' }).MIGRATE_ON_START).toBe(true);
    expect(loadConfig({ MIGRATE_ON_START: '0' }).MIGRATE_ON_START).toBe(false);
    expect(loadConfig({ ...production, MIGRATE_ON_START: '' }).MIGRATE_ON_START).toBe(false);
  });

  it('reads TRUST_PROXY as off, any, a hop count or a list of proxies', () => {
    expect(loadConfig({}).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '0' }).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(loadConfig({ TRUST_PROXY: ' 10.0.0.0/8,127.0.0.1 ' }).TRUST_PROXY).toBe('10.0.0.0/8,127.0.0.1');
  });

  it('splits comma-separated lists, ignoring blanks and spaces', () => {
    expect(loadConfig({ CORS_ORIGINS: ' https://a.example , ,https://b.example' }).CORS_ORIGINS).toEqual(['https://a.example', 'https://b.example']);
    expect(loadConfig({}).CORS_ORIGINS).toEqual([]);
    expect(loadConfig({ GEMINI_MODELS: 'gemini-2.5-pro, gemini-2.5-flash-lite' }).GEMINI_MODELS).toEqual(['gemini-2.5-pro', 'gemini-2.5-flash-lite']);
  });

  it('refuses a model id that is not one, naming GEMINI_MODELS', () => {
    expect(() => loadConfig({ GEMINI_MODELS: 'gemini-2.5-pro,../../etc' })).toThrow(/GEMINI_MODELS\.1: each model must be a Gemini model id/);
  });

  it('offers the default model first, and each model once', () => {
    const config = loadConfig({ GEMINI_MODEL: 'gemini-2.5-flash', GEMINI_MODELS: 'gemini-2.5-pro,gemini-2.5-flash' });
    expect(modelChoices(config)).toEqual(['gemini-2.5-flash', 'gemini-2.5-pro']);
    expect(modelChoices(loadConfig({}))).toEqual(['gemini-2.5-flash']);
  });

  it('keeps numbers within their bounds and says which variable is out', () => {
    expect(loadConfig({ PORT: '0' }).PORT).toBe(0);
    expect(() => loadConfig({ PORT: '65536' })).toThrow(/PORT/);
    expect(() => loadConfig({ GENERATION_MAX_ATTEMPTS: '0' })).toThrow(/GENERATION_MAX_ATTEMPTS/);
    expect(() => loadConfig({ BASIC_DAILY_LIMIT: '2.5' })).toThrow(/BASIC_DAILY_LIMIT/);
    expect(loadConfig({ PRO_DAILY_LIMIT: '0' }).PRO_DAILY_LIMIT).toBe(0); // 0 = unlimited
  });

  it('reads flags as true/1 or false/0 and refuses anything else', () => {
    expect(loadConfig({ AUTO_TITLE: '0' }).AUTO_TITLE).toBe(false);
    expect(loadConfig({}).AUTO_TITLE).toBe(true);
    expect(() => loadConfig({ AUTO_TITLE: 'yes' })).toThrow(/AUTO_TITLE/);
  });

  it('refuses URLs that are not URLs and a metrics token too short to be a secret', () => {
    expect(() => loadConfig({ GEMINI_BASE_URL: 'gemini.example.com/v1' })).toThrow(/GEMINI_BASE_URL/);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN: must be at least 16 characters/);
  });

  it('lists every bad variable at once, not only the first', () => {
    expect(() => loadConfig({ PORT: 'x', LOG_LEVEL: 'loud' })).toThrow(/PORT[\s\S]*LOG_LEVEL|LOG_LEVEL[\s\S]*PORT/);
  });
});
