ALTER TABLE "chatrooms" ADD COLUMN "thinking" jsonb;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "thoughts" text;