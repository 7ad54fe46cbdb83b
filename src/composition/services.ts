import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';
import type { HealthDeps } from '../http/health.routes.js';
import { withTimeout } from '../infra/deadline.js';
import type { Metrics } from '../infra/metrics.js';
import type { RateLimitStore } from '../infra/rate-limit-store.js';
import type { PaymentGateway } from '../integrations/stripe/payment-gateway.js';
import { createSimulatedGateway, type SimulatedGateway } from '../integrations/stripe/simulated-gateway.js';
import { createStripeGateway } from '../integrations/stripe/stripe-gateway.js';
import { createWebhookVerifier } from '../integrations/stripe/webhook-signature.js';
import { createAccessTokenCodec } from '../modules/auth/access-token.js';
import { createAuthService, type AuthService } from '../modules/auth/auth.service.js';
import { logOtpSender, responseOtpSender } from '../modules/auth/otp-sender.js';
import { createOtpService } from '../modules/auth/otp.service.js';
import { deriveAuthKeys, loadOrCreateDevSecret } from '../modules/auth/secrets.js';
import { createSessionCache } from '../modules/auth/session-cache.js';
import { createSessionService, type SessionService } from '../modules/auth/session.service.js';
import { allowancePolicy, type AllowancePolicy } from '../modules/billing/allowance.js';
import { createSubscriptionService, type SubscriptionService } from '../modules/billing/subscription.service.js';
import { createWebhookService, type WebhookService } from '../modules/billing/webhook.service.js';
import { createChatroomListCache } from '../modules/chatrooms/chatroom-list-cache.js';
import { createChatroomService, type ChatroomDeletionListener, type ChatroomService } from '../modules/chatrooms/chatroom.service.js';
import { createFileService, type FileService } from '../modules/files/file.service.js';
import { createScheduler, type Scheduler } from '../modules/generation/scheduling.js';
import { messageStore } from '../modules/messages/message-store.js';
import { createMessageService, type MessageService } from '../modules/messages/message.service.js';
import { createStreamSlots, type StreamSlots } from '../modules/messages/stream-slots.js';
import { createSearchService, type SearchService } from '../modules/search/search.service.js';
import { createFeedbackService, type FeedbackService } from '../modules/messages/feedback.service.js';
import { createReplyFollower, type ReplyFollower } from '../modules/replies/reply-follower.js';
import { createReplyStopper } from '../modules/replies/reply-stopper.js';
import { createReplyStore, type ReplyStore } from '../modules/replies/reply-store.js';
import { createShareViewCache, shareDeletionListener } from '../modules/shares/share-view-cache.js';
import { createShareService, type ShareService } from '../modules/shares/share.service.js';
import type { Infrastructure } from './infrastructure.js';

/** What the HTTP app is built on: the services, and the few drivers it shows as they are (probes, metrics, the limiter's store). */
export interface Services {
  auth: AuthService;
  sessions: SessionService;
  chatrooms: ChatroomService;
  messages: MessageService;
  search: SearchService;
  feedback: FeedbackService;
  files: FileService;
  shares: ShareService;
  /** Following a reply's events (SSE, waiting, stop). */
  follower: ReplyFollower;
  streamSlots: StreamSlots;
  subscriptions: SubscriptionService;
  webhooks: WebhookService;
  /** Stripe, or the simulator (with the secret it signs its events with). */
  payments: { gateway: PaymentGateway; simulator?: { gateway: SimulatedGateway; webhookSecret: string } };
  /** The replies' data access and which of them run when: shared with the worker. */
  replies: ReplyStore;
  scheduler: Scheduler;
  policy: AllowancePolicy;
  /** What /readyz asks. */
  readiness: HealthDeps;
  metrics: Metrics;
  rateLimitStore: RateLimitStore;
}

/** How often a quiet follower of a reply checks the database (a reply that vanished or ended unseen). */
const FOLLOWER_RECHECK_MS = 3_000;
/** How long a stop waits for the worker to end the reply before ending it itself. */
const STOP_WAIT_MS = 5_000;
/** A scrape never waits on a database that does not answer (dependency_up reports that). */
const UNFINISHED_READ_TIMEOUT_MS = 1_500;

function paymentsFrom(config: Config, infra: Pick<Infrastructure, 'clock'>, log: FastifyBaseLogger): Services['payments'] & { webhookSecret: string } {
  // Without Stripe keys the simulator stands in; it signs with the configured secret, or one of its own.
  const webhookSecret = config.STRIPE_WEBHOOK_SECRET ?? `whsec_simulated_${randomBytes(24).toString('hex')}`;
  if (!config.STRIPE_SECRET_KEY) {
    log.warn('STRIPE_SECRET_KEY is not set: payments use the simulated checkout');
    const simulated = createSimulatedGateway(infra.clock);
    return { gateway: simulated, simulator: { gateway: simulated, webhookSecret }, webhookSecret };
  }
  const gateway = createStripeGateway({
    secretKey: config.STRIPE_SECRET_KEY,
    priceId: config.STRIPE_PRICE_ID as string,
    apiBaseUrl: config.STRIPE_API_BASE_URL,
    maxNetworkRetries: config.STRIPE_MAX_NETWORK_RETRIES,
  });
  return { gateway, webhookSecret };
}

/** Every listener told of a chatroom's deletion, in order. */
function allOf(...listeners: ChatroomDeletionListener[]): ChatroomDeletionListener {
  return {
    async chatroomDeleting(chatroomId) {
      const pending: { deleted(): Promise<void> }[] = [];
      for (const listener of listeners) pending.push(await listener.chatroomDeleting(chatroomId));
      return { deleted: async () => void (await Promise.all(pending.map((each) => each.deleted()))) };
    },
  };
}

/** The services of the product, wired on the infrastructure. They hold no connection of their own. */
export function createServices(config: Config, log: FastifyBaseLogger, infra: Infrastructure): Services {
  const { database, clock, queue, stream, stopSignals, metrics } = infra;
  if (config.OTP_SENDER === 'response' && config.NODE_ENV === 'production') {
    // Allowed only with ALLOW_OTP_IN_RESPONSE=true (config.ts); it must not go unnoticed in the logs.
    log.warn(
      'OTP_SENDER=response IN PRODUCTION: every login, sign-up and password-reset code is returned to whoever asks for it, ' +
        'so anyone who knows a mobile number can log in as its owner. Use it for demos only.',
    );
  }
  const keys = deriveAuthKeys(config.JWT_SECRET ?? loadOrCreateDevSecret(config.DATA_DIR, log));
  const sessions = createSessionService({
    database,
    accessTokens: createAccessTokenCodec(keys.jwt, config.ACCESS_TOKEN_TTL_SECONDS),
    cache: createSessionCache({ broadcast: infra.broadcast, ttlMs: config.SESSION_CACHE_TTL_SECONDS * 1000, log }),
    refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
    clock,
    log,
  });
  const auth = createAuthService({
    database,
    otp: createOtpService({ otpKey: keys.otp, clock }),
    otpSender: config.OTP_SENDER === 'log' ? logOtpSender(log) : responseOtpSender,
    sessions,
    clock,
  });

  const policy = allowancePolicy({ basicDailyLimit: config.BASIC_DAILY_LIMIT, proDailyLimit: config.PRO_DAILY_LIMIT });
  const replies = createReplyStore(database);
  metrics.trackUnfinishedReplies(() => withTimeout(replies.unfinishedCounts(clock.now()), UNFINISHED_READ_TIMEOUT_MS, 'the database'));
  const scheduler = createScheduler({ replies, queue });
  const follower = createReplyFollower({ replies, stream, log, recheckMs: FOLLOWER_RECHECK_MS });
  const stopper = createReplyStopper({ replies, signals: stopSignals, stream, follower, scheduler, clock, log, waitMs: STOP_WAIT_MS });
  const files = createFileService({
    database,
    store: infra.fileStore,
    maxUploadBytes: config.MAX_UPLOAD_BYTES,
    quotaBytes: { basic: config.STORAGE_QUOTA_BASIC_BYTES, pro: config.STORAGE_QUOTA_PRO_BYTES },
    unreferencedTtlMs: config.FILE_UNREFERENCED_TTL_SECONDS * 1000,
    clock,
    log,
  });
  const shareViews = createShareViewCache({ cache: infra.cache, broadcast: infra.broadcast, log });
  const chatrooms = createChatroomService({
    database,
    listCache: createChatroomListCache({ cache: infra.cache, ttlSeconds: Math.max(1, config.CHATROOM_CACHE_TTL_SECONDS), timeoutMs: 250, log }),
    clock,
    defaultModel: config.GEMINI_MODEL,
    // Its generations stop, the files only its messages carried are deleted with it, and its shares are revoked.
    deletionListener: allOf(stopper, files, shareDeletionListener(database, shareViews)),
  });
  const messages = createMessageService({
    database,
    store: messageStore,
    chatrooms,
    scheduler,
    follower,
    stopper,
    policy,
    maxUnfinishedReplies: { basic: config.GENERATION_MAX_WAITING_BASIC, pro: config.GENERATION_MAX_WAITING_PRO },
    clock,
    log,
  });

  const shares = createShareService({ database, views: shareViews, chatrooms, files, messages, clock, log });

  const { webhookSecret, ...payments } = paymentsFrom(config, infra, log);
  const subscriptions = createSubscriptionService({
    database,
    gateway: payments.gateway,
    policy,
    clock,
    log,
    successUrl: config.CHECKOUT_SUCCESS_URL,
    cancelUrl: config.CHECKOUT_CANCEL_URL,
  });
  const webhooks = createWebhookService({
    database,
    gateway: payments.gateway,
    verifier: createWebhookVerifier(webhookSecret, () => clock.now()),
    accounts: sessions,
    clock,
    log,
  });

  return {
    auth,
    sessions,
    chatrooms,
    messages,
    search: createSearchService({ database }),
    feedback: createFeedbackService({ database, messages, metrics: infra.metrics, defaultModel: config.GEMINI_MODEL, clock }),
    files,
    shares,
    follower,
    streamSlots: createStreamSlots(config.MAX_OPEN_STREAMS_PER_USER),
    subscriptions,
    webhooks,
    payments,
    replies,
    scheduler,
    policy,
    readiness: { database, redis: infra.redis, queue },
    metrics: infra.metrics,
    rateLimitStore: infra.rateLimitStore,
  };
}
