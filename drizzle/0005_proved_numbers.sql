DROP INDEX "otp_codes_user_purpose_idx";--> statement-breakpoint
ALTER TABLE "otp_codes" ADD COLUMN "requested_from" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "otp_codes" ADD COLUMN "pending_password_hash" text;--> statement-breakpoint
ALTER TABLE "otp_codes" ADD COLUMN "pending_email" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "mobile_verified_at" timestamp with time zone;--> statement-breakpoint
CREATE UNIQUE INDEX "otp_codes_user_purpose_requester_idx" ON "otp_codes" USING btree ("user_id","purpose","requested_from");--> statement-breakpoint
CREATE INDEX "otp_codes_expires_at_idx" ON "otp_codes" USING btree ("expires_at");--> statement-breakpoint
-- Accounts that have logged in are in use: count them as verified so that their owners keep their
-- password login. Accounts that never logged in must prove their number like new ones.
UPDATE "users" SET "mobile_verified_at" = "created_at" WHERE EXISTS (SELECT 1 FROM "sessions" WHERE "sessions"."user_id" = "users"."id");
