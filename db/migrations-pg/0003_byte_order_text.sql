-- Text sorts by bytes, as on SQLite: tag lists, the catalog and every keyset page (the feed's
-- snapshot, db:copy) must come back in the same order from an origin on PostgreSQL as from an
-- edge's SQLite index, or a client paging across the two skips or repeats names. A database
-- created with a language collation (en_US.UTF-8 is Debian's and many managed services' default)
-- would sort `B Latest Z a b` as `a b B Latest Z`.
ALTER TABLE "accounts" ALTER COLUMN "name" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "accounts" ALTER COLUMN "kind" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "accounts" ALTER COLUMN "secret_hash" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "blobs" ALTER COLUMN "digest" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "changes" ALTER COLUMN "kind" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "changes" ALTER COLUMN "repository" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "changes" ALTER COLUMN "payload" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "grants" ALTER COLUMN "target" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "grants" ALTER COLUMN "actions" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "leases" ALTER COLUMN "name" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "leases" ALTER COLUMN "owner" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "manifest_references" ALTER COLUMN "manifest_digest" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "manifest_references" ALTER COLUMN "target_digest" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "manifest_references" ALTER COLUMN "kind" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "manifests" ALTER COLUMN "digest" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "manifests" ALTER COLUMN "media_type" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "manifests" ALTER COLUMN "subject_digest" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "manifests" ALTER COLUMN "artifact_type" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "manifests" ALTER COLUMN "annotations" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "namespace_policies" ALTER COLUMN "namespace" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "namespace_policies" ALTER COLUMN "extra_locations" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "namespace_policies" ALTER COLUMN "residency" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "placements" ALTER COLUMN "digest" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "placements" ALTER COLUMN "location" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "placements" ALTER COLUMN "state" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "public_repositories" ALTER COLUMN "repository" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "refresh_tokens" ALTER COLUMN "token_hash" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "refresh_tokens" ALTER COLUMN "service" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "refresh_tokens" ALTER COLUMN "client_id" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "replication_jobs" ALTER COLUMN "digest" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "replication_jobs" ALTER COLUMN "location" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "replication_jobs" ALTER COLUMN "state" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "replication_jobs" ALTER COLUMN "lease_owner" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "replication_jobs" ALTER COLUMN "last_error" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "replication_jobs" ALTER COLUMN "source_location" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "repositories" ALTER COLUMN "name" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "repository_blobs" ALTER COLUMN "digest" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "settings" ALTER COLUMN "name" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "settings" ALTER COLUMN "value" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "signing_keys" ALTER COLUMN "kid" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "signing_keys" ALTER COLUMN "alg" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "signing_keys" ALTER COLUMN "private_jwk" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "signing_keys" ALTER COLUMN "public_jwk" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "tags" ALTER COLUMN "name" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "tags" ALTER COLUMN "digest" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "uploads" ALTER COLUMN "id" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "uploads" ALTER COLUMN "location" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "uploads" ALTER COLUMN "part_nonces" TYPE text COLLATE "C";
