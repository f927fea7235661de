CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"prefix" text NOT NULL,
	"hash" text NOT NULL,
	"scopes" text[] NOT NULL,
	"user_login" text,
	"expires_at" timestamp (3) with time zone,
	"revoked_at" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "chain_head" (
	"id" integer PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL,
	"head" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "event_batches" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"prev_head" text NOT NULL,
	"digest" text NOT NULL,
	"head" text NOT NULL,
	"event_count" integer NOT NULL,
	"committed_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "event_hashes" (
	"event_id" bigint PRIMARY KEY NOT NULL,
	"occurred_at" timestamp (3) with time zone NOT NULL,
	"batch_seq" bigint NOT NULL,
	"position" integer NOT NULL,
	"hash" text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_hash_key" ON "api_keys" USING btree ("hash");--> statement-breakpoint
CREATE INDEX "event_batches_committed_idx" ON "event_batches" USING btree ("committed_at");--> statement-breakpoint
CREATE UNIQUE INDEX "event_hashes_batch_key" ON "event_hashes" USING btree ("batch_seq","position");