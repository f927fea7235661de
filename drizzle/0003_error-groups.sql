CREATE TABLE "error_fingerprint_rules" (
	"id" serial PRIMARY KEY NOT NULL,
	"field" text NOT NULL,
	"pattern" text NOT NULL,
	"fingerprint" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "error_groups" (
	"fingerprint" text PRIMARY KEY NOT NULL,
	"status" text DEFAULT 'OPEN' NOT NULL,
	"merged_into" text,
	"resolved_at" timestamp (3) with time zone,
	"regressed_at" timestamp (3) with time zone,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
