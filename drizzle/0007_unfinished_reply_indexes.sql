-- IF NOT EXISTS: on a large messages table, build these first by hand with CREATE INDEX CONCURRENTLY
-- (same names and definitions), and this migration finds them there instead of locking writes.
CREATE INDEX IF NOT EXISTS "messages_unfinished_replies_by_chatroom_idx" ON "messages" USING btree ("chatroom_id","seq") WHERE role = 'model' and status in ('pending', 'streaming');--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "messages_unfinished_replies_by_user_idx" ON "messages" USING btree ("user_id","seq") WHERE role = 'model' and status in ('pending', 'streaming');
