ALTER TABLE "chatrooms" ADD COLUMN "current_message_id" uuid;--> statement-breakpoint
ALTER TABLE "chatrooms" ADD COLUMN "system_instruction" text;--> statement-breakpoint
ALTER TABLE "chatrooms" ADD COLUMN "model" text;--> statement-breakpoint
ALTER TABLE "chatrooms" ADD COLUMN "temperature" double precision;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "parent_id" uuid;--> statement-breakpoint
ALTER TABLE "chatrooms" ADD CONSTRAINT "chatrooms_current_message_id_messages_id_fk" FOREIGN KEY ("current_message_id") REFERENCES "public"."messages"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_parent_id_messages_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "chatrooms_current_message_idx" ON "chatrooms" USING btree ("current_message_id");--> statement-breakpoint
CREATE INDEX "messages_parent_id_idx" ON "messages" USING btree ("parent_id");--> statement-breakpoint
-- Existing chatrooms become one-branch trees: each message follows the one before it.
UPDATE "messages" AS "m" SET "parent_id" = "ordered"."previous_id"
FROM (SELECT "id", lag("id") OVER (PARTITION BY "chatroom_id" ORDER BY "seq") AS "previous_id" FROM "messages") AS "ordered"
WHERE "m"."id" = "ordered"."id" AND "ordered"."previous_id" IS NOT NULL;--> statement-breakpoint
UPDATE "chatrooms" AS "c" SET "current_message_id" = (
  SELECT "m"."id" FROM "messages" AS "m" WHERE "m"."chatroom_id" = "c"."id" ORDER BY "m"."seq" DESC LIMIT 1
);
