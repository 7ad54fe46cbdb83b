import { sql } from 'drizzle-orm';
import type { Grounding } from '../../integrations/gemini/grounding.js';
import {
  bigint,
  bigserial,
  boolean,
  date,
  doublePrecision,
  index,
  integer,
  jsonb,
  smallint,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  type AnyPgColumn,
  customType,
} from 'drizzle-orm/pg-core';

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const users = pgTable('users', {
  id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
  mobile: text('mobile').notNull().unique(),
  name: text('name'),
  email: text('email'),
  passwordHash: text('password_hash'),
  /** Created on the first checkout and reused for every later one. */
  stripeCustomerId: text('stripe_customer_id').unique(),
  /**
   * When the number was first proved (a code sent to it was verified). Until then nobody may log in
   * with a password, and signing the number up again starts over (pre-hijacking).
   */
  mobileVerifiedAt: timestamptz('mobile_verified_at'),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  updatedAt: timestamptz('updated_at').notNull().defaultNow(),
});

/** A login: one per device. Access tokens name their session, so revoking it kills them too. */
export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: timestamptz('created_at').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
    revokedAt: timestamptz('revoked_at'),
    revokedReason: text('revoked_reason'),
  },
  (table) => [index('sessions_user_id_idx').on(table.userId)],
);

/** Every refresh token ever issued, by hash: a spent one is kept so that its reuse can be recognised. */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull().unique(),
    createdAt: timestamptz('created_at').notNull(),
    usedAt: timestamptz('used_at'),
  },
  (table) => [index('refresh_tokens_session_id_idx').on(table.sessionId)],
);

/**
 * Codes by user, purpose and the address that asked for them: one live code per address, so a resend
 * from one address never replaces the code another address (the owner) is using.
 */
export const otpCodes = pgTable(
  'otp_codes',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    purpose: text('purpose', { enum: ['login', 'password_reset', 'signup'] }).notNull(),
    /** A keyed hash of the client address that asked for the code (never the address itself). */
    requestedFrom: text('requested_from').notNull().default(''),
    codeHash: text('code_hash').notNull(),
    attempts: integer('attempts').notNull().default(0),
    sentAt: timestamptz('sent_at').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
    consumedAt: timestamptz('consumed_at'),
    /** Signup codes: the password and email given at signup, applied only when this code is verified. */
    pendingPasswordHash: text('pending_password_hash'),
    pendingEmail: text('pending_email'),
  },
  (table) => [
    uniqueIndex('otp_codes_user_purpose_requester_idx').on(table.userId, table.purpose, table.requestedFrom),
    // The retention sweep deletes by expiry.
    index('otp_codes_expires_at_idx').on(table.expiresAt),
  ],
);

export const chatrooms = pgTable(
  'chatrooms',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    title: text('title').notNull(),
    /** The tip of the branch on screen; what the user sees and the next prompt continues is the path to it. */
    currentMessageId: uuid('current_message_id').references((): AnyPgColumn => messages.id, { onDelete: 'set null' }),
    /** Per-chatroom generation settings; null = the server's default. */
    systemInstruction: text('system_instruction'),
    model: text('model'),
    temperature: doublePrecision('temperature'),
    /** Gemini's thinking: `budget` null = the model's default, 0 = off, -1 = the model decides. Null = server default. */
    thinking: jsonb('thinking').$type<{ budget: number | null; includeThoughts: boolean }>(),
    /** Answers may use Google Search (Gemini's googleSearch tool). */
    grounding: boolean('grounding').notNull().default(false),
    createdAt: timestamptz('created_at').notNull(),
    updatedAt: timestamptz('updated_at').notNull(),
  },
  (table) => [
    // Serves both the ownership lookups and the newest-first keyset pagination of a user's list.
    index('chatrooms_user_created_idx').on(table.userId, table.createdAt.desc(), table.id.desc()),
    index('chatrooms_current_message_idx').on(table.currentMessageId),
    // Title search (migration 0012): the owner leads, as in message_search's index.
    index('chatrooms_title_search_idx').using('gin', table.userId, sql`to_tsvector('chat_search', ${table.title})`),
  ],
);

/**
 * A turn of a conversation. A model reply is a row too, from the moment it is asked for:
 * pending → streaming → done | failed. `seq` orders messages strictly (a prompt and its reply share a timestamp).
 * A conversation is a tree: a prompt's parent is the reply before it (null for a first prompt), a
 * reply's parent is the prompt it answers. A child is always newer than its parent (higher `seq`).
 */
export const messages = pgTable(
  'messages',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    chatroomId: uuid('chatroom_id')
      .notNull()
      .references(() => chatrooms.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    parentId: uuid('parent_id').references((): AnyPgColumn => messages.id, { onDelete: 'cascade' }),
    role: text('role', { enum: ['user', 'model'] }).notNull(),
    content: text('content').notNull().default(''),
    /** The model's thought summary (includeThoughts), kept apart from `content`: never sent back as context. */
    thoughts: text('thoughts'),
    /** Where the answer came from when it used Google Search: the contract's `grounding`, offsets in UTF-16. */
    grounding: jsonb('grounding').$type<Grounding>(),
    status: text('status', { enum: ['pending', 'streaming', 'done', 'failed'] }).notNull(),
    finishReason: text('finish_reason'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    promptTokens: integer('prompt_tokens'),
    outputTokens: integer('output_tokens'),
    /** Gemini's other usage figures: thought tokens (not in output), cached prompt tokens, the total. */
    thoughtsTokens: integer('thoughts_tokens'),
    cachedTokens: integer('cached_tokens'),
    totalTokens: integer('total_tokens'),
    /** The reply's context left out older turns of its path (GENERATION_CONTEXT_TOKENS). */
    contextTruncated: boolean('context_truncated').notNull().default(false),
    /**
     * The model a reply was generated with: the chatroom's choice or the server's default when its
     * generation began. Null for prompts, replies never begun, and replies stored before it was kept.
     */
    model: text('model'),
    /**
     * The owner's rating of a finished reply (one per reply, replaced by the next), and the model it
     * was counted under in the metrics (so that withdrawing it later counts under the same label):
     * `model`, or for replies without one the chatroom's model at rating time.
     */
    feedbackRating: text('feedback_rating', { enum: ['up', 'down'] }),
    feedbackReason: text('feedback_reason', { enum: ['inaccurate', 'unhelpful', 'unsafe', 'other'] }),
    feedbackComment: text('feedback_comment'),
    feedbackModel: text('feedback_model'),
    feedbackUpdatedAt: timestamptz('feedback_updated_at'),
    /** The UTC day whose allowance paid for this reply: a failed reply gives its prompt back to that day. */
    allowanceDay: date('allowance_day', { mode: 'string' }),
    createdAt: timestamptz('created_at').notNull(),
    updatedAt: timestamptz('updated_at').notNull(),
    completedAt: timestamptz('completed_at'),
  },
  (table) => [
    uniqueIndex('messages_chatroom_seq_idx').on(table.chatroomId, table.seq),
    index('messages_user_id_idx').on(table.userId),
    // Children and siblings of a message; the recursive path walk follows parent_id upwards by primary key.
    index('messages_parent_id_idx').on(table.parentId),
    // The recovery sweep looks for unfinished replies.
    index('messages_unfinished_idx').on(table.status, table.updatedAt).where(sql`status in ('pending', 'streaming')`),
    // A chatroom's next reply (its head), and a user's unfinished replies (the cap and fair
    // scheduling): looked up on every send and every finished reply. Few rows are unfinished at any
    // time, so these stay small and the lookups stay O(1) however long the chats grow.
    index('messages_unfinished_replies_by_chatroom_idx')
      .on(table.chatroomId, table.seq)
      .where(sql`role = 'model' and status in ('pending', 'streaming')`),
    index('messages_unfinished_replies_by_user_idx')
      .on(table.userId, table.seq)
      .where(sql`role = 'model' and status in ('pending', 'streaming')`),
  ],
);

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

/**
 * What full-text search reads for messages: one row per message with text, written by triggers on
 * `messages` (migrations 0012 and 0014), never by the code. A table of its own rather than a column of
 * `messages`, so that every query that reads whole message rows (the path walks, `m.*`) never carries
 * the vector.
 *
 * Hash-partitioned by `user_id` into 64 partitions (migration 0014; drizzle does not model
 * partitioning, so the SQL is the migration's): a search names its owner, so it reads one partition,
 * whose GIN index and heap hold 1/64 of everyone's rows. A prefix term is a partial match in GIN,
 * which gathers every matching entry of the index it reads before the owner's entries narrow them:
 * with one index over the whole table that was everyone's matches (bench/README.md, scenario 8).
 * `user_id` still leads each partition's GIN index (btree_gin), so the owner is in the index scan.
 * No foreign key (one to `messages` would make every message deletion probe all 64 partitions): a
 * delete trigger on `messages` removes the row by its full key.
 */
export const messageSearch = pgTable(
  'message_search',
  {
    messageId: uuid('message_id').notNull(),
    userId: uuid('user_id').notNull(),
    createdAt: timestamptz('created_at').notNull(),
    /** to_tsvector('chat_search', content): the `simple` configuration with accents folded (unaccent). */
    vector: tsvector('vector').notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.userId, table.messageId] }),
    index('message_search_user_vector_idx').using('gin', table.userId, table.vector),
  ],
);

/** Prompts spent per user per UTC day; spent and given back with single atomic statements. */
export const dailyUsage = pgTable(
  'daily_usage',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    day: date('day', { mode: 'string' }).notNull(),
    used: integer('used').notNull().default(0),
  },
  (table) => [primaryKey({ columns: [table.userId, table.day] })],
);

/** The first outcome of a POST /chatroom/:id/message per Idempotency-Key, so that a retry returns it. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    userMessageId: uuid('user_message_id').references(() => messages.id, { onDelete: 'cascade' }),
    replyId: uuid('reply_id').references(() => messages.id, { onDelete: 'cascade' }),
    createdAt: timestamptz('created_at').notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.userId, table.key] }),
    index('idempotency_keys_user_message_idx').on(table.userMessageId),
    index('idempotency_keys_reply_idx').on(table.replyId),
  ],
);

/**
 * Stripe is the truth about subscriptions; these rows mirror it. The tier is derived from them at
 * request time (past_due counts as Pro until the paid period ends), never stored or put in a token.
 */
export const subscriptions = pgTable(
  'subscriptions',
  {
    stripeSubscriptionId: text('stripe_subscription_id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    stripeCustomerId: text('stripe_customer_id').notNull(),
    status: text('status').notNull(),
    priceId: text('price_id'),
    currentPeriodEnd: timestamptz('current_period_end'),
    cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
    /** When Stripe said this state (event time, or when we retrieved it): older news never overwrites it. */
    stateAsOf: timestamptz('state_as_of').notNull(),
    updatedAt: timestamptz('updated_at').notNull(),
  },
  (table) => [index('subscriptions_user_id_idx').on(table.userId)],
);

/** Every Stripe event applied, by id, recorded in the same transaction as its effect: a replay is a no-op. */
export const stripeEvents = pgTable('stripe_events', {
  id: text('id').primaryKey(),
  type: text('type').notNull(),
  receivedAt: timestamptz('received_at').notNull(),
});

/**
 * An uploaded file. Its bytes are in the file store under `storage_key` (ids only, never the name).
 * Deleting a file removes its bytes but keeps this row (`deleted_at`): messages that had it still name
 * it. `bytes_removed_at` is when the store confirmed the removal; a deleted row without it is a removal
 * the retention sweep tries again.
 */
export const files = pgTable(
  'files',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    mimeType: text('mime_type').notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    storageKey: text('storage_key').notNull().unique(),
    /** What the file costs in the model's context, estimated at upload (README "Files"). */
    tokens: integer('tokens').notNull(),
    /** The copy in Gemini's Files API, when one was uploaded for a file too large to send inline. */
    geminiUri: text('gemini_uri'),
    geminiExpiresAt: timestamptz('gemini_expires_at'),
    createdAt: timestamptz('created_at').notNull(),
    deletedAt: timestamptz('deleted_at'),
    bytesRemovedAt: timestamptz('bytes_removed_at'),
  },
  (table) => [
    // The owner's list (newest first, keyset) and their storage in use: live files only.
    index('files_user_live_idx').on(table.userId, table.createdAt.desc(), table.id.desc()).where(sql`deleted_at is null`),
    // The sweep of unreferenced uploads, and of removals to try again.
    index('files_live_created_idx').on(table.createdAt).where(sql`deleted_at is null`),
    index('files_bytes_pending_idx').on(table.deletedAt).where(sql`deleted_at is not null and bytes_removed_at is null`),
  ],
);

/** The files a prompt carries, in the order it named them. */
export const messageAttachments = pgTable(
  'message_attachments',
  {
    messageId: uuid('message_id')
      .notNull()
      .references(() => messages.id, { onDelete: 'cascade' }),
    position: smallint('position').notNull(),
    fileId: uuid('file_id')
      .notNull()
      .references(() => files.id, { onDelete: 'cascade' }),
  },
  (table) => [primaryKey({ columns: [table.messageId, table.position] }), index('message_attachments_file_idx').on(table.fileId)],
);

/** Facts an installation keeps about itself (e.g. the identity of its file store: roles on two hosts must share one). */
export const installationFacts = pgTable('installation_facts', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});

/** One message of a share's frozen snapshot: what the public view shows, and what a fork copies. */
export interface SharedMessageSnapshot {
  id: string;
  role: 'user' | 'model';
  content: string;
  /** The prompt's files by id, in order (the files' own rows say name, type and whether deleted). */
  fileIds: string[];
  grounding: Grounding | null;
  finishReason: string | null;
  createdAt: string;
}

/**
 * A share link: a frozen copy of one branch of a chatroom, taken when it was shared. Later edits,
 * branches and replies do not change it; revoking deletes the row, and so does deleting the chatroom
 * (or the user). The id is the link's secret: 128 random bits, base64url, not a UUID.
 */
export const shares = pgTable(
  'shares',
  {
    id: text('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    chatroomId: uuid('chatroom_id')
      .notNull()
      .references(() => chatrooms.id, { onDelete: 'cascade' }),
    title: text('title').notNull(),
    messages: jsonb('messages').$type<SharedMessageSnapshot[]>().notNull(),
    createdAt: timestamptz('created_at').notNull(),
  },
  (table) => [
    // A chatroom's shares, newest first (keyset), and the ids to forget when it is deleted.
    index('shares_chatroom_created_idx').on(table.chatroomId, table.createdAt.desc(), table.id.desc()),
    index('shares_user_id_idx').on(table.userId),
  ],
);
