-- Full-text search (README "Search and sharing") and feedback on replies.
-- Every statement can run again: an operator with a large messages table runs this file by hand in
-- the order the README gives (the backfill in batches, both indexes CREATE INDEX CONCURRENTLY), and
-- the migration then finds everything in place.
-- unaccent and btree_gin are trusted extensions (PostgreSQL 13+): the database's owner may create them.
CREATE EXTENSION IF NOT EXISTS unaccent;--> statement-breakpoint
CREATE EXTENSION IF NOT EXISTS btree_gin;--> statement-breakpoint
-- The simple configuration (no stemming, no stop words: any language) with accents folded first.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'chat_search') THEN
    CREATE TEXT SEARCH CONFIGURATION chat_search (COPY = simple);
    ALTER TEXT SEARCH CONFIGURATION chat_search ALTER MAPPING FOR word, hword, hword_part WITH unaccent, simple;
  END IF;
END $$;--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "message_search" (
	"message_id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"vector" "tsvector" NOT NULL
);
--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN IF NOT EXISTS "feedback_rating" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN IF NOT EXISTS "feedback_reason" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN IF NOT EXISTS "feedback_comment" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN IF NOT EXISTS "feedback_model" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN IF NOT EXISTS "feedback_updated_at" timestamp with time zone;--> statement-breakpoint
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'message_search_message_id_messages_id_fk') THEN
    ALTER TABLE "message_search" ADD CONSTRAINT "message_search_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE cascade ON UPDATE no action;
  END IF;
END $$;--> statement-breakpoint
-- message_search follows messages: every write path (send, reply, stop, a fork's copy) is covered,
-- and the code never writes it. A reply's text is stored when it ends; an empty text is not indexed.
CREATE OR REPLACE FUNCTION message_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.content = '' THEN
    DELETE FROM message_search WHERE message_id = NEW.id;
  ELSE
    INSERT INTO message_search (message_id, user_id, created_at, vector)
    VALUES (NEW.id, NEW.user_id, NEW.created_at, to_tsvector('chat_search', NEW.content))
    ON CONFLICT (message_id) DO UPDATE SET vector = excluded.vector;
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE OR REPLACE TRIGGER messages_search_insert AFTER INSERT ON messages
  FOR EACH ROW WHEN (NEW.content <> '') EXECUTE FUNCTION message_search_sync();--> statement-breakpoint
CREATE OR REPLACE TRIGGER messages_search_update AFTER UPDATE OF content ON messages
  FOR EACH ROW WHEN (OLD.content IS DISTINCT FROM NEW.content) EXECUTE FUNCTION message_search_sync();--> statement-breakpoint
-- The backfill, skipped when message_search already has rows (an operator filled it in batches).
INSERT INTO message_search (message_id, user_id, created_at, vector)
SELECT id, user_id, created_at, to_tsvector('chat_search', content) FROM messages
WHERE content <> '' AND NOT EXISTS (SELECT 1 FROM message_search)
ON CONFLICT (message_id) DO NOTHING;--> statement-breakpoint
-- IF NOT EXISTS: on large tables, build these first by hand with CREATE INDEX CONCURRENTLY (same names and definitions).
CREATE INDEX IF NOT EXISTS "message_search_user_vector_idx" ON "message_search" USING gin ("user_id","vector");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "chatrooms_title_search_idx" ON "chatrooms" USING gin ("user_id",to_tsvector('chat_search', "title"));
