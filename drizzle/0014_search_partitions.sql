-- message_search becomes hash-partitioned by user_id, 64 partitions (README "Search and sharing";
-- bench/README.md scenario 8 has the measurements behind it). A search names its owner, so it reads
-- one partition: its GIN index and its heap hold 1/64 of everyone's rows. A prefix term is a partial
-- match in GIN, which gathers every matching entry of the index it reads before the owner's entries
-- narrow them; over one index of the whole table, that was every user's matches.
-- The partitioned table is built beside the old one as message_search_next (kept up to date by
-- triggers of its own from the first statement on), filled, indexed, then swapped in. Every statement
-- can run again, and does nothing once the swap is done. On a large table an operator runs the first
-- statement by hand, fills and indexes message_search_next in batches and CONCURRENTLY, and lets the
-- migration do the swap (README "Search and sharing", "Migration 0014").
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_class WHERE relname = 'message_search' AND relkind = 'r' AND relnamespace = 'public'::regnamespace) THEN
    CREATE TABLE IF NOT EXISTS message_search_next (
      message_id uuid NOT NULL,
      user_id uuid NOT NULL,
      created_at timestamp with time zone NOT NULL,
      vector tsvector NOT NULL,
      CONSTRAINT message_search_user_id_message_id_pk PRIMARY KEY (user_id, message_id)
    ) PARTITION BY HASH (user_id);
    FOR i IN 0..63 LOOP
      EXECUTE format('CREATE TABLE IF NOT EXISTS message_search_p%s PARTITION OF message_search_next FOR VALUES WITH (MODULUS 64, REMAINDER %s)', lpad(i::text, 2, '0'), i);
    END LOOP;
    -- Writes from now on reach both tables (the old one through its own triggers).
    CREATE OR REPLACE FUNCTION message_search_next_sync() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        DELETE FROM message_search_next WHERE user_id = OLD.user_id AND message_id = OLD.id;
      ELSIF NEW.content = '' THEN
        DELETE FROM message_search_next WHERE user_id = NEW.user_id AND message_id = NEW.id;
      ELSE
        INSERT INTO message_search_next (message_id, user_id, created_at, vector)
        VALUES (NEW.id, NEW.user_id, NEW.created_at, to_tsvector('chat_search', NEW.content))
        ON CONFLICT (user_id, message_id) DO UPDATE SET vector = excluded.vector;
      END IF;
      RETURN NULL;
    END $f$;
    CREATE OR REPLACE TRIGGER messages_search_next_write AFTER INSERT OR UPDATE OF content OR DELETE ON messages
      FOR EACH ROW EXECUTE FUNCTION message_search_next_sync();
  END IF;
END $$;--> statement-breakpoint
-- The fill, from the old table's stored vectors; skipped when message_search_next has rows already
-- (an operator filled it in batches).
DO $$
BEGIN
  IF to_regclass('public.message_search_next') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM message_search_next) THEN
    INSERT INTO message_search_next (message_id, user_id, created_at, vector)
    SELECT message_id, user_id, created_at, vector FROM message_search
    ON CONFLICT (user_id, message_id) DO NOTHING;
  END IF;
END $$;--> statement-breakpoint
-- After the fill (one pass per partition rather than an insert at a time). An operator builds it
-- instead as the README says: ON ONLY the parent, each partition's CONCURRENTLY, then attached.
DO $$
BEGIN
  IF to_regclass('public.message_search_next') IS NOT NULL THEN
    CREATE INDEX IF NOT EXISTS message_search_next_user_vector_idx ON message_search_next USING gin (user_id, vector);
  END IF;
END $$;--> statement-breakpoint
-- The swap: the partitioned table takes the old one's name, index name and triggers.
DO $$
BEGIN
  IF to_regclass('public.message_search_next') IS NOT NULL THEN
    DROP TRIGGER IF EXISTS messages_search_next_write ON messages;
    DROP FUNCTION IF EXISTS message_search_next_sync();
    DROP TABLE message_search;
    ALTER TABLE message_search_next RENAME TO message_search;
    ALTER INDEX message_search_next_user_vector_idx RENAME TO message_search_user_vector_idx;
  END IF;
END $$;--> statement-breakpoint
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
