CREATE TABLE `blobs` (
	`digest` text PRIMARY KEY NOT NULL,
	`size` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `changes` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`repository` text,
	`payload` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `manifest_references` (
	`repository_id` integer NOT NULL,
	`manifest_digest` text NOT NULL,
	`target_digest` text NOT NULL,
	`kind` text NOT NULL,
	PRIMARY KEY(`repository_id`, `manifest_digest`, `target_digest`)
);
--> statement-breakpoint
CREATE INDEX `manifest_references_target` ON `manifest_references` (`repository_id`,`target_digest`);--> statement-breakpoint
CREATE TABLE `manifests` (
	`repository_id` integer NOT NULL,
	`digest` text NOT NULL,
	`media_type` text NOT NULL,
	`size` integer NOT NULL,
	`payload` blob NOT NULL,
	`subject_digest` text,
	`artifact_type` text,
	`annotations` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`repository_id`, `digest`),
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `manifests_subject` ON `manifests` (`repository_id`,`subject_digest`);--> statement-breakpoint
CREATE TABLE `namespace_policies` (
	`namespace` text PRIMARY KEY NOT NULL,
	`extra_locations` text NOT NULL,
	`residency` text,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `placements` (
	`digest` text NOT NULL,
	`location` text NOT NULL,
	`state` text NOT NULL,
	`size` integer NOT NULL,
	`verified_at` integer NOT NULL,
	PRIMARY KEY(`digest`, `location`)
);
--> statement-breakpoint
CREATE INDEX `placements_location` ON `placements` (`location`,`state`);--> statement-breakpoint
CREATE TABLE `replication_jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`digest` text NOT NULL,
	`location` text NOT NULL,
	`state` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`due_at` integer NOT NULL,
	`lease_owner` text,
	`lease_until` integer,
	`last_error` text,
	`source_location` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `replication_jobs_digest_location` ON `replication_jobs` (`digest`,`location`);--> statement-breakpoint
CREATE INDEX `replication_jobs_due` ON `replication_jobs` (`state`,`due_at`);--> statement-breakpoint
CREATE TABLE `repositories` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `repositories_name_unique` ON `repositories` (`name`);--> statement-breakpoint
CREATE TABLE `repository_blobs` (
	`repository_id` integer NOT NULL,
	`digest` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`repository_id`, `digest`),
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`digest`) REFERENCES `blobs`(`digest`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `repository_blobs_digest` ON `repository_blobs` (`digest`);--> statement-breakpoint
CREATE TABLE `tags` (
	`repository_id` integer NOT NULL,
	`name` text NOT NULL,
	`digest` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`repository_id`, `name`),
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `tags_digest` ON `tags` (`repository_id`,`digest`);--> statement-breakpoint
CREATE TABLE `uploads` (
	`id` text PRIMARY KEY NOT NULL,
	`repository_id` integer NOT NULL,
	`location` text NOT NULL,
	`offset` integer NOT NULL,
	`parts` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE no action
);
