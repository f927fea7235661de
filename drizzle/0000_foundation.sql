CREATE TABLE "entities" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"type" text NOT NULL,
	"external_id" text NOT NULL,
	"name" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "event_idempotency_keys" (
	"key" text PRIMARY KEY NOT NULL,
	"event_id" bigint NOT NULL,
	"occurred_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "event_parameter_values" (
	"event_id" bigint NOT NULL,
	"occurred_at" timestamp (3) with time zone NOT NULL,
	"parameter_id" integer NOT NULL,
	"position" smallint DEFAULT 0 NOT NULL,
	"value" text,
	"entity_id" uuid,
	CONSTRAINT "event_parameter_values_event_id_parameter_id_position_occurred_at_pk" PRIMARY KEY("event_id","parameter_id","position","occurred_at")
);
--> statement-breakpoint
CREATE TABLE "event_parameters" (
	"id" serial PRIMARY KEY NOT NULL,
	"event_type_id" integer NOT NULL,
	"name" text NOT NULL,
	"type" text DEFAULT 'value' NOT NULL,
	"direction" text
);
--> statement-breakpoint
CREATE TABLE "event_types" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"category" text NOT NULL,
	"source" text NOT NULL,
	"friendly_name" text,
	"standard" boolean DEFAULT true NOT NULL,
	"is_error" boolean DEFAULT false NOT NULL,
	"builtin" boolean DEFAULT false NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "event_types_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" bigserial NOT NULL,
	"occurred_at" timestamp (3) with time zone NOT NULL,
	"recorded_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"event_type_id" integer NOT NULL,
	"session_id" uuid,
	"user_id" uuid,
	"description" text,
	"source" text NOT NULL,
	"duration_ms" double precision,
	"is_error" boolean DEFAULT false NOT NULL,
	"error_message" text,
	"error_stack_trace" text,
	"error_fingerprint" text,
	"idempotency_key" text,
	"tx_id" "xid8" DEFAULT pg_current_xact_id() NOT NULL,
	CONSTRAINT "events_id_occurred_at_pk" PRIMARY KEY("id","occurred_at")
);
--> statement-breakpoint
CREATE TABLE "groups" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"personal" boolean DEFAULT false NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "groups_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "groups_relations" (
	"parent_id" uuid NOT NULL,
	"child_id" uuid NOT NULL,
	CONSTRAINT "groups_relations_parent_id_child_id_pk" PRIMARY KEY("parent_id","child_id")
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"login" text NOT NULL,
	"display_name" text,
	"roles" text[] DEFAULT '{}'::text[] NOT NULL,
	"disabled" boolean DEFAULT false NOT NULL,
	"group_id" uuid,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "users_login_unique" UNIQUE("login")
);
--> statement-breakpoint
CREATE TABLE "users_sessions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"started_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp (3) with time zone,
	"end_reason" text,
	"ip_address" text,
	"user_agent" text,
	"process" text DEFAULT 'CLIENT' NOT NULL
);
--> statement-breakpoint
ALTER TABLE "event_parameters" ADD CONSTRAINT "event_parameters_event_type_id_event_types_id_fk" FOREIGN KEY ("event_type_id") REFERENCES "public"."event_types"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "groups_relations" ADD CONSTRAINT "groups_relations_parent_id_groups_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."groups"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "groups_relations" ADD CONSTRAINT "groups_relations_child_id_groups_id_fk" FOREIGN KEY ("child_id") REFERENCES "public"."groups"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_group_id_groups_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."groups"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "users_sessions" ADD CONSTRAINT "users_sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "entities_type_external_id_key" ON "entities" USING btree ("type","external_id");--> statement-breakpoint
CREATE INDEX "event_parameter_values_entity_idx" ON "event_parameter_values" USING btree ("entity_id","occurred_at" DESC NULLS LAST,"event_id" DESC NULLS LAST) WHERE "event_parameter_values"."entity_id" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "event_parameters_type_name_key" ON "event_parameters" USING btree ("event_type_id","name");--> statement-breakpoint
CREATE INDEX "events_time_idx" ON "events" USING btree ("occurred_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "events_tx_idx" ON "events" USING btree ("tx_id","id");--> statement-breakpoint
CREATE INDEX "events_user_idx" ON "events" USING btree ("user_id","occurred_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "events_type_idx" ON "events" USING btree ("event_type_id","occurred_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "events_session_idx" ON "events" USING btree ("session_id","occurred_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "events_fingerprint_idx" ON "events" USING btree ("error_fingerprint","occurred_at" DESC NULLS LAST) WHERE "events"."is_error";--> statement-breakpoint
CREATE INDEX "groups_relations_child_idx" ON "groups_relations" USING btree ("child_id");--> statement-breakpoint
CREATE INDEX "users_sessions_user_idx" ON "users_sessions" USING btree ("user_id","started_at" DESC NULLS LAST);