DROP INDEX "events_user_idx";--> statement-breakpoint
DROP INDEX "events_session_idx";--> statement-breakpoint
CREATE INDEX "events_user_idx" ON "events" USING btree ("user_id","occurred_at" DESC NULLS LAST,"id" DESC NULLS LAST) WHERE "events"."user_id" is not null;--> statement-breakpoint
CREATE INDEX "events_session_idx" ON "events" USING btree ("session_id","occurred_at" DESC NULLS LAST) WHERE "events"."session_id" is not null;