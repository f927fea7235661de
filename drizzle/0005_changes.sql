CREATE TABLE "entity_states" (
	"entity_id" uuid PRIMARY KEY NOT NULL,
	"version" integer DEFAULT 0 NOT NULL,
	"fields" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "event_changes" (
	"event_id" bigint NOT NULL,
	"occurred_at" timestamp (3) with time zone NOT NULL,
	"sequence" integer NOT NULL,
	"action" text NOT NULL,
	"field" text NOT NULL,
	"previous_value" text,
	"new_value" text,
	"data_type" text,
	"language" text,
	"entity_id" uuid NOT NULL,
	"entity_version" integer,
	"change_type" text NOT NULL,
	"parent_event_id" bigint,
	CONSTRAINT "event_changes_event_id_sequence_occurred_at_pk" PRIMARY KEY("event_id","sequence","occurred_at")
);
--> statement-breakpoint
CREATE TABLE "suggestions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"entity_id" uuid NOT NULL,
	"requestor_id" uuid NOT NULL,
	"approver_group_id" uuid NOT NULL,
	"status" text DEFAULT 'PROPOSED' NOT NULL,
	"completed_by_id" uuid,
	"changes" jsonb NOT NULL,
	"comment" text,
	"reason" text,
	"created_at" timestamp (3) with time zone NOT NULL,
	"decided_at" timestamp (3) with time zone,
	"proposal_event_id" bigint NOT NULL,
	"decision_event_id" bigint,
	"applied_event_id" bigint
);
--> statement-breakpoint
ALTER TABLE "entity_states" ADD CONSTRAINT "entity_states_entity_id_entities_id_fk" FOREIGN KEY ("entity_id") REFERENCES "public"."entities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "suggestions" ADD CONSTRAINT "suggestions_entity_id_entities_id_fk" FOREIGN KEY ("entity_id") REFERENCES "public"."entities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "suggestions" ADD CONSTRAINT "suggestions_requestor_id_users_id_fk" FOREIGN KEY ("requestor_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "suggestions" ADD CONSTRAINT "suggestions_approver_group_id_groups_id_fk" FOREIGN KEY ("approver_group_id") REFERENCES "public"."groups"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "suggestions" ADD CONSTRAINT "suggestions_completed_by_id_users_id_fk" FOREIGN KEY ("completed_by_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "event_changes_entity_version_idx" ON "event_changes" USING btree ("entity_id","entity_version");--> statement-breakpoint
CREATE INDEX "event_changes_parent_idx" ON "event_changes" USING btree ("parent_event_id") WHERE "event_changes"."parent_event_id" is not null;--> statement-breakpoint
CREATE INDEX "suggestions_entity_idx" ON "suggestions" USING btree ("entity_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "suggestions_created_idx" ON "suggestions" USING btree ("created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "suggestions_status_idx" ON "suggestions" USING btree ("status","created_at" DESC NULLS LAST);