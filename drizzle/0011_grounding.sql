ALTER TABLE "chatrooms" ADD COLUMN "grounding" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "grounding" jsonb;