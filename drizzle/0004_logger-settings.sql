CREATE TABLE "logger_settings" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"target_key" text NOT NULL,
	"user_id" uuid,
	"group_id" uuid,
	"level" text NOT NULL,
	"types_on" text[] DEFAULT '{}'::text[] NOT NULL,
	"types_off" text[] DEFAULT '{}'::text[] NOT NULL,
	"categories_on" text[] DEFAULT '{}'::text[] NOT NULL,
	"categories_off" text[] DEFAULT '{}'::text[] NOT NULL,
	"throttle_seconds" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "logger_settings_target_key_unique" UNIQUE("target_key")
);
--> statement-breakpoint
ALTER TABLE "logger_settings" ADD CONSTRAINT "logger_settings_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "logger_settings" ADD CONSTRAINT "logger_settings_group_id_groups_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."groups"("id") ON DELETE cascade ON UPDATE no action;