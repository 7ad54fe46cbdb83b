-- message_search becomes hash-partitioned by user_id, 64 partitions (README "Search and sharing";
-- bench/README.md scenario 8 has the measurements behind it). A search names its owner, so it reads
-- one partition: its GIN index and its heap hold 1/64 of everyone's rows. A prefix term is a partial
-- match in GIN, which gathers every matching entry of the index it reads before the owner's entries
-- narrow them; over one index of the whole table, that was every user's matches.
-- The table is derived from messages (triggers keep it), so the old one is copied, then dropped.
-- Every statement can run again. The copy holds message_search's lock, and message writes (whose
-- trigger writes message_search) wait for it: about 35 s per million rows on the bench machine.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_class WHERE relname = 'message_search' AND relkind = 'r' AND relnamespace = 'public'::regnamespace) THEN
    ALTER TABLE message_search RENAME TO message_search_unpartitioned;
    DROP INDEX IF EXISTS message_search_user_vector_idx;
  END IF;
END $$;--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "message_search" (
	"message_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"vector" "tsvector" NOT NULL,
	CONSTRAINT "message_search_user_id_message_id_pk" PRIMARY KEY("user_id","message_id")
) PARTITION BY HASH ("user_id");--> statement-breakpoint
DO $$
BEGIN
  FOR i IN 0..63 LOOP
    EXECUTE format('CREATE TABLE IF NOT EXISTS message_search_p%s PARTITION OF message_search FOR VALUES WITH (MODULUS 64, REMAINDER %s)', lpad(i::text, 2, '0'), i);
  END LOOP;
END $$;--> statement-breakpoint
DO $$
BEGIN
  IF to_regclass('public.message_search_unpartitioned') IS NOT NULL THEN
    INSERT INTO message_search (message_id, user_id, created_at, vector)
    SELECT message_id, user_id, created_at, vector FROM message_search_unpartitioned
    ON CONFLICT (user_id, message_id) DO NOTHING;
    DROP TABLE message_search_unpartitioned;
  END IF;
END $$;--> statement-breakpoint
-- Built after the copy (one pass per partition rather than an insert at a time).
CREATE INDEX IF NOT EXISTS "message_search_user_vector_idx" ON "message_search" USING gin ("user_id","vector");--> statement-breakpoint
-- The row's whole key, user first: the statement reads one partition.
CREATE OR REPLACE FUNCTION message_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.content = '' THEN
    DELETE FROM message_search WHERE user_id = NEW.user_id AND message_id = NEW.id;
  ELSE
    INSERT INTO message_search (message_id, user_id, created_at, vector)
    VALUES (NEW.id, NEW.user_id, NEW.created_at, to_tsvector('chat_search', NEW.content))
    ON CONFLICT (user_id, message_id) DO UPDATE SET vector = excluded.vector;
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
-- In place of the foreign key's cascade, which would look for the message in every partition.
CREATE OR REPLACE FUNCTION message_search_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM message_search WHERE user_id = OLD.user_id AND message_id = OLD.id;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE OR REPLACE TRIGGER messages_search_delete AFTER DELETE ON messages
  FOR EACH ROW WHEN (OLD.content <> '') EXECUTE FUNCTION message_search_forget();
