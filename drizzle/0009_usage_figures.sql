ALTER TABLE "messages" ADD COLUMN "thoughts_tokens" integer;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "cached_tokens" integer;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "total_tokens" integer;