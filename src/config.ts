import { z } from 'zod';

/**
 * The one place that reads the environment. Every variable is documented in `.env.example`;
 * a bad value stops start-up with a message naming the variable.
 */

const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const intWithDefault = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const booleanFlag = z
  .enum(['true', 'false', '1', '0', ''])
  .default('false')
  .transform((value) => value === 'true' || value === '1');

export const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development').describe('production turns on the production checks'),
    PORT: intWithDefault(3000, 0, 65535).describe('HTTP port'),
    HOST: z.string().default('0.0.0.0').describe('HTTP listen address'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    DATA_DIR: z.string().default('./data').describe('embedded data directory (PGlite, generated dev secret)'),
    DATABASE_URL: optionalString.describe('PostgreSQL connection string; unset = embedded PGlite in DATA_DIR'),
    DATABASE_POOL_SIZE: intWithDefault(10, 1, 1000).describe('PostgreSQL connections one process may hold'),
    DATABASE_CONNECT_TIMEOUT_MS: intWithDefault(5_000, 100, 120_000).describe('how long a query waits for a PostgreSQL connection before failing with 503'),
    DATABASE_IDLE_TIMEOUT_MS: intWithDefault(30_000, 0, 3_600_000).describe('how long an unused pooled connection stays open; 0 = until it breaks'),
    DATABASE_STATEMENT_TIMEOUT_MS: intWithDefault(10_000, 0, 3_600_000).describe('PostgreSQL statement_timeout of every pooled connection; 0 = none'),
    FILE_STORE: z.enum(['fs', 's3']).default('fs').describe('where uploaded files live: fs = DATA_DIR/files (one machine), s3 = S3_BUCKET'),
    S3_BUCKET: optionalString.describe('the bucket of uploaded files; required when FILE_STORE=s3'),
    S3_REGION: z.string().trim().min(1).default('us-east-1').describe('region of S3_BUCKET'),
    S3_ENDPOINT: optionalString.pipe(z.url().optional()).describe('an S3-compatible endpoint (MinIO, R2); unset = AWS'),
    S3_ACCESS_KEY_ID: optionalString.describe("unset with S3_SECRET_ACCESS_KEY = the AWS SDK's default credential chain"),
    S3_SECRET_ACCESS_KEY: optionalString,
    S3_FORCE_PATH_STYLE: booleanFlag.describe('address the bucket in the path (endpoint/bucket/key), as most S3-compatible services need'),
    REDIS_URL: optionalString.describe('Redis for rate limits, cache, queue; unset = in-process drivers'),
    REDIS_KEY_PREFIX: z.string().default('').describe('prefix of every Redis key, for deployments sharing one Redis'),
    JWT_SECRET: optionalString
      .refine((value) => value === undefined || Buffer.byteLength(value) >= 32, 'must be at least 32 bytes')
      .describe('HS256 signing secret; required in production'),
    ACCESS_TOKEN_TTL_SECONDS: intWithDefault(15 * 60, 30, 24 * 3600),
    SESSION_CACHE_TTL_SECONDS: intWithDefault(10, 0, 300).describe(
      'how long an api process trusts a session it read without news of a change (revocations and plan changes reach it at once); 0 = read the database on every request',
    ),
    REFRESH_TOKEN_TTL_SECONDS: intWithDefault(30 * 24 * 3600, 60, 365 * 24 * 3600),
    OTP_SENDER: z.enum(['response', 'log']).default('response').describe('how OTP codes are delivered'),
    ALLOW_OTP_IN_RESPONSE: booleanFlag.describe('allow OTP_SENDER=response when NODE_ENV=production: anyone who knows a number gets its codes'),
    PHONE_DEFAULT_REGION: z
      .string()
      .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 region such as IN or US')
      .default('IN')
      .describe('region assumed for numbers written without +'),
    AUTH_RATE_LIMIT_PER_MINUTE: intWithDefault(30, 1).describe('per-IP requests a minute on OTP, login and refresh routes'),
    AUTH_RATE_LIMIT_PER_NUMBER_PER_MINUTE: intWithDefault(10, 1).describe('requests a minute for one mobile number from one address, per OTP or login route'),
    AUTH_RATE_LIMIT_PER_NUMBER_CEILING_PER_MINUTE: intWithDefault(60, 1).describe(
      'requests a minute for one mobile number from all addresses together, per OTP or login route',
    ),
    CHATROOM_CACHE_TTL_SECONDS: intWithDefault(300, 0, 24 * 3600).describe('lifetime of a cached GET /chatroom page; 0 = no list cache'),
    BASIC_DAILY_LIMIT: intWithDefault(5, 1).describe('prompts a day on the Basic plan'),
    PRO_DAILY_LIMIT: intWithDefault(1000, 0).describe('prompts a day on the Pro plan; 0 = unlimited'),
    REPLY_WAIT_MS: intWithDefault(30_000, 0, 120_000).describe('how long POST /chatroom/:id/message waits before answering 202'),
    GEMINI_API_KEY: optionalString.describe('Google Gemini API key; unset = offline stand-in model'),
    GEMINI_MODEL: z.string().min(1).default('gemini-2.5-flash').describe('the default model'),
    GEMINI_MODELS: z
      .string()
      .default('')
      .transform((value) =>
        value
          .split(',')
          .map((model) => model.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'each model must be a Gemini model id such as gemini-2.5-pro')))
      .describe('comma-separated models a chatroom may choose; GEMINI_MODEL is always one of them'),
    AUTO_TITLE: z
      .enum(['true', 'false', '1', '0'])
      .default('true')
      .transform((value) => value === 'true' || value === '1')
      .describe('generate a title for a "New chat" chatroom when its first reply finishes'),
    GEMINI_BASE_URL: optionalString.pipe(z.url().optional()).describe('endpoint override (proxy, test server)'),
    GEMINI_TIMEOUT_MS: intWithDefault(60_000, 100, 600_000).describe('per-attempt timeout of a Gemini call, streamed body included'),
    GEMINI_SYSTEM_INSTRUCTION: optionalString.describe('system instruction sent with every generation'),
    GEMINI_MAX_OUTPUT_TOKENS: intWithDefault(2048, 1, 65_536),
    GEMINI_INLINE_MAX_BYTES: intWithDefault(20_000_000, 1024).describe(
      "the most base64 a Gemini request carries inline; larger files go through Gemini's Files API",
    ),
    GEMINI_CALLS_PER_MINUTE: intWithDefault(60, 1).describe('Gemini calls a minute across all workers'),
    GENERATION_CONCURRENCY: intWithDefault(32, 1, 1000).describe('generations one worker runs at once'),
    GENERATION_MAX_ATTEMPTS: intWithDefault(4, 1, 20).describe('attempts per reply for retryable model errors'),
    GENERATION_RETRY_BASE_MS: intWithDefault(1_000, 1, 60_000).describe('first retry delay; doubles each attempt, with jitter'),
    GENERATION_CONTEXT_TOKENS: intWithDefault(32_768, 256, 2_000_000).describe(
      'tokens of context a reply may get: the newest part of its path that fits, with the system instruction and the new prompt with its files',
    ),
    MAX_UPLOAD_BYTES: intWithDefault(20 * 1024 * 1024, 1, 2 * 1024 ** 3).describe("largest file one upload may be (the file's bytes)"),
    STORAGE_QUOTA_BASIC_BYTES: intWithDefault(100 * 1024 * 1024, 0).describe('bytes of files a Basic user may keep'),
    STORAGE_QUOTA_PRO_BYTES: intWithDefault(2 * 1024 ** 3, 0).describe('bytes of files a Pro user may keep'),
    FILE_UNREFERENCED_TTL_SECONDS: intWithDefault(86_400, 60, 365 * 86_400).describe(
      'how long an uploaded file may stay unattached to any prompt before it is deleted',
    ),
    GENERATION_RECOVERY_INTERVAL_SECONDS: intWithDefault(60, 1, 3600).describe('how often unfinished replies with no job are enqueued again'),
    GENERATION_MAX_WAITING_BASIC: intWithDefault(5, 1, 10_000).describe('replies a Basic user may have waiting or being generated at once'),
    GENERATION_MAX_WAITING_PRO: intWithDefault(25, 1, 10_000).describe('replies a Pro user may have waiting or being generated at once'),
    MAX_OPEN_STREAMS_PER_USER: intWithDefault(20, 1, 10_000).describe('event streams one user may hold open at once, per api process'),
    SSE_KEEPALIVE_MS: intWithDefault(10_000, 100, 15_000).describe('how often an idle event stream sends a keep-alive comment'),
    RETENTION_INTERVAL_SECONDS: intWithDefault(3600, 1, 7 * 24 * 3600).describe('how often the worker deletes rows past use (README "Data retention")'),
    PUBLIC_BASE_URL: optionalString
      .pipe(z.url().optional())
      .describe('this API as clients reach it; required in production, else taken from each request (Host header)'),
    STRIPE_SECRET_KEY: optionalString.describe('unset = simulated checkout'),
    STRIPE_WEBHOOK_SECRET: optionalString.describe('whsec_… of the webhook endpoint; the simulator signs with it too'),
    STRIPE_PRICE_ID: optionalString.describe('the Pro plan price (recurring)'),
    STRIPE_API_BASE_URL: optionalString.pipe(z.url().optional()).describe('Stripe API endpoint override (a test server)'),
    STRIPE_MAX_NETWORK_RETRIES: intWithDefault(2, 0, 5).describe('SDK retries; safe because every POST carries an idempotency key'),
    STRIPE_SIMULATOR: booleanFlag.describe('allow the simulated checkout when NODE_ENV=production'),
    CHECKOUT_RATE_LIMIT_PER_HOUR: intWithDefault(10, 1).describe('checkout and portal sessions a user may open an hour (each is a Stripe API call)'),
    SHARE_CREATE_LIMIT_PER_HOUR: intWithDefault(30, 1).describe('share links a user may create an hour; then 429 RATE_LIMITED'),
    CHECKOUT_SUCCESS_URL: optionalString.pipe(z.url().optional()).describe('where Checkout sends the payer back'),
    CHECKOUT_CANCEL_URL: optionalString.pipe(z.url().optional()).describe('where Checkout sends a payer who cancels'),
    CORS_ORIGINS: z
      .string()
      .default('')
      .transform((value) =>
        value
          .split(',')
          .map((origin) => origin.trim())
          .filter(Boolean),
      )
      .describe('comma-separated allowed origins; empty = CORS off, * = any'),
    SHUTDOWN_GRACE_MS: intWithDefault(30_000, 1_000, 600_000).describe('how long SIGTERM waits for requests and jobs in flight'),
    MIGRATE_ON_START: z
      .enum(['true', 'false', '1', '0', ''])
      .optional()
      .transform((value) => (value === undefined || value === '' ? undefined : value === 'true' || value === '1'))
      .describe('apply migrations when a process starts; default true, false when NODE_ENV=production'),
    WORKER_PORT: intWithDefault(3001, 0, 65535).describe("the worker role's health and metrics port"),
    METRICS_TOKEN: optionalString
      .refine((value) => value === undefined || value.length >= 16, 'must be at least 16 characters')
      .describe('bearer token for /metrics; unset = /metrics open outside production, off in production'),
    LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto').describe('auto = pretty on a terminal in development, JSON otherwise'),
    OTEL_EXPORTER_OTLP_ENDPOINT: optionalString
      .refine((value) => value === undefined || URL.canParse(value), 'must be a URL such as http://collector:4318')
      .describe('OTLP/HTTP collector; set = traces exported (the SDK appends /v1/traces), unset = tracing not loaded at all'),
    OTEL_SERVICE_NAME: optionalString.describe('service.name of the traces; default gemini-chat-<role> (gemini-chat for the role all)'),
    BODY_LIMIT_BYTES: intWithDefault(64 * 1024, 1024, 10 * 1024 * 1024),
    TRUST_PROXY: z
      .string()
      .trim()
      .default('false')
      .transform((value): boolean | number | string => {
        if (value === '' || value === 'false' || value === '0') return false;
        if (value === 'true') return true;
        return /^\d+$/.test(value) ? Number(value) : value;
      })
      .describe('X-Forwarded-For hops to trust (1 = one load balancer), or the proxies\' addresses/CIDRs; true trusts any, which lets clients pick their IP'),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && env.JWT_SECRET === undefined) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'is required when NODE_ENV=production' });
    }
    if (env.NODE_ENV === 'production' && env.OTP_SENDER === 'response' && !env.ALLOW_OTP_IN_RESPONSE) {
      ctx.addIssue({
        code: 'custom',
        path: ['OTP_SENDER'],
        message:
          "'response' hands every login and reset code to whoever asks for it; refused when NODE_ENV=production " +
          '(set OTP_SENDER=log with an SMS provider, or ALLOW_OTP_IN_RESPONSE=true to run it on purpose)',
      });
    }
    // Checkout and portal links are built from it: taken from the Host header, a caller could point them anywhere.
    if (env.NODE_ENV === 'production' && env.PUBLIC_BASE_URL === undefined) {
      ctx.addIssue({ code: 'custom', path: ['PUBLIC_BASE_URL'], message: 'is required when NODE_ENV=production' });
    }
    if (env.FILE_STORE === 's3' && env.S3_BUCKET === undefined) {
      ctx.addIssue({ code: 'custom', path: ['S3_BUCKET'], message: 'is required when FILE_STORE=s3' });
    }
    if (env.STRIPE_SECRET_KEY !== undefined) {
      for (const name of ['STRIPE_WEBHOOK_SECRET', 'STRIPE_PRICE_ID'] as const) {
        if (env[name] === undefined) ctx.addIssue({ code: 'custom', path: [name], message: 'is required when STRIPE_SECRET_KEY is set' });
      }
    } else if (env.NODE_ENV === 'production' && !env.STRIPE_SIMULATOR) {
      ctx.addIssue({
        code: 'custom',
        path: ['STRIPE_SECRET_KEY'],
        message: 'is required when NODE_ENV=production (or set STRIPE_SIMULATOR=true to run the simulated checkout on purpose)',
      });
    }
  });

type ParsedEnv = z.infer<typeof envSchema>;
export type Config = Readonly<Omit<ParsedEnv, 'MIGRATE_ON_START'> & { MIGRATE_ON_START: boolean }>;

/** The models a chatroom may choose, the default first (GEMINI_MODEL is always offered). */
export const modelChoices = (config: Pick<Config, 'GEMINI_MODEL' | 'GEMINI_MODELS'>): string[] => [
  ...new Set([config.GEMINI_MODEL, ...config.GEMINI_MODELS]),
];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(env)'}: ${issue.message}`);
    throw new ConfigError(`Invalid environment configuration:\n${lines.join('\n')}`);
  }
  const env = parsed.data;
  // Replicas of a rolling deploy must never race a migration: production migrates as its own step.
  return Object.freeze({ ...env, MIGRATE_ON_START: env.MIGRATE_ON_START ?? env.NODE_ENV !== 'production' });
}
