CREATE TABLE "accounts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"secret_hash" text NOT NULL,
	"is_admin" bigint DEFAULT 0 NOT NULL,
	"disabled" bigint DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "accounts_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "blobs" (
	"digest" text PRIMARY KEY NOT NULL,
	"size" bigint NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "changes" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"repository" text,
	"payload" text NOT NULL,
	"at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "grants" (
	"account_id" bigint NOT NULL,
	"target" text NOT NULL,
	"actions" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "grants_account_id_target_pk" PRIMARY KEY("account_id","target")
);
--> statement-breakpoint
CREATE TABLE "manifest_references" (
	"repository_id" bigint NOT NULL,
	"manifest_digest" text NOT NULL,
	"target_digest" text NOT NULL,
	"kind" text NOT NULL,
	CONSTRAINT "manifest_references_repository_id_manifest_digest_target_digest_pk" PRIMARY KEY("repository_id","manifest_digest","target_digest")
);
--> statement-breakpoint
CREATE TABLE "manifests" (
	"repository_id" bigint NOT NULL,
	"digest" text NOT NULL,
	"media_type" text NOT NULL,
	"size" bigint NOT NULL,
	"payload" "bytea" NOT NULL,
	"subject_digest" text,
	"artifact_type" text,
	"annotations" text,
	"created_at" bigint NOT NULL,
	CONSTRAINT "manifests_repository_id_digest_pk" PRIMARY KEY("repository_id","digest")
);
--> statement-breakpoint
CREATE TABLE "namespace_policies" (
	"namespace" text PRIMARY KEY NOT NULL,
	"extra_locations" text NOT NULL,
	"residency" text,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "placements" (
	"digest" text NOT NULL,
	"location" text NOT NULL,
	"state" text NOT NULL,
	"size" bigint NOT NULL,
	"verified_at" bigint NOT NULL,
	CONSTRAINT "placements_digest_location_pk" PRIMARY KEY("digest","location")
);
--> statement-breakpoint
CREATE TABLE "public_repositories" (
	"repository" text PRIMARY KEY NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "refresh_tokens" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"account_id" bigint NOT NULL,
	"service" text NOT NULL,
	"client_id" text,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "replication_jobs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"digest" text NOT NULL,
	"location" text NOT NULL,
	"state" text NOT NULL,
	"attempts" bigint DEFAULT 0 NOT NULL,
	"due_at" bigint NOT NULL,
	"lease_owner" text,
	"lease_until" bigint,
	"last_error" text,
	"source_location" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"finished_at" bigint
);
--> statement-breakpoint
CREATE TABLE "repositories" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "repositories_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "repository_blobs" (
	"repository_id" bigint NOT NULL,
	"digest" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "repository_blobs_repository_id_digest_pk" PRIMARY KEY("repository_id","digest")
);
--> statement-breakpoint
CREATE TABLE "settings" (
	"name" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "signing_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"alg" text NOT NULL,
	"private_jwk" text NOT NULL,
	"public_jwk" text NOT NULL,
	"created_at" bigint NOT NULL,
	"retired_at" bigint,
	"verify_until" bigint
);
--> statement-breakpoint
CREATE TABLE "tags" (
	"repository_id" bigint NOT NULL,
	"name" text NOT NULL,
	"digest" text NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "tags_repository_id_name_pk" PRIMARY KEY("repository_id","name")
);
--> statement-breakpoint
CREATE TABLE "uploads" (
	"id" text PRIMARY KEY NOT NULL,
	"repository_id" bigint NOT NULL,
	"location" text NOT NULL,
	"offset" bigint NOT NULL,
	"parts" bigint NOT NULL,
	"part_nonces" text DEFAULT '[]' NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "grants" ADD CONSTRAINT "grants_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "manifests" ADD CONSTRAINT "manifests_repository_id_repositories_id_fk" FOREIGN KEY ("repository_id") REFERENCES "public"."repositories"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "repository_blobs" ADD CONSTRAINT "repository_blobs_repository_id_repositories_id_fk" FOREIGN KEY ("repository_id") REFERENCES "public"."repositories"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "repository_blobs" ADD CONSTRAINT "repository_blobs_digest_blobs_digest_fk" FOREIGN KEY ("digest") REFERENCES "public"."blobs"("digest") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tags" ADD CONSTRAINT "tags_repository_id_repositories_id_fk" FOREIGN KEY ("repository_id") REFERENCES "public"."repositories"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "uploads" ADD CONSTRAINT "uploads_repository_id_repositories_id_fk" FOREIGN KEY ("repository_id") REFERENCES "public"."repositories"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "manifest_references_target" ON "manifest_references" USING btree ("repository_id","target_digest");--> statement-breakpoint
CREATE INDEX "manifests_subject" ON "manifests" USING btree ("repository_id","subject_digest");--> statement-breakpoint
CREATE INDEX "placements_location" ON "placements" USING btree ("location","state");--> statement-breakpoint
CREATE INDEX "refresh_tokens_account" ON "refresh_tokens" USING btree ("account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "replication_jobs_digest_location" ON "replication_jobs" USING btree ("digest","location");--> statement-breakpoint
CREATE INDEX "replication_jobs_due" ON "replication_jobs" USING btree ("state","due_at");--> statement-breakpoint
CREATE INDEX "repository_blobs_digest" ON "repository_blobs" USING btree ("digest");--> statement-breakpoint
CREATE INDEX "tags_digest" ON "tags" USING btree ("repository_id","digest");