CREATE TABLE "checkpoint_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"public_key" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "checkpoints" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"batch_seq" bigint NOT NULL,
	"head" text NOT NULL,
	"signed_at" timestamp (3) with time zone NOT NULL,
	"key_id" text NOT NULL,
	"pruned_month" text,
	"pruned_events" bigint,
	"signature" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pruned_months" (
	"id" serial PRIMARY KEY NOT NULL,
	"month" text NOT NULL,
	"through_batch" bigint NOT NULL,
	"events" bigint,
	"dropped_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"record_event_id" bigint
);
--> statement-breakpoint
CREATE INDEX "checkpoints_signed_idx" ON "checkpoints" USING btree ("signed_at" DESC NULLS LAST,"id" DESC NULLS LAST);