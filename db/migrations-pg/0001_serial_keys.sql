-- drizzle writes Meridian's inserts once, with its SQLite dialect, which sends NULL for an
-- omitted autoincrement key (SQLite then assigns the next rowid). PostgreSQL would refuse the NULL:
-- this trigger takes the key from the column's sequence instead, before the NOT NULL check.
CREATE FUNCTION meridian_serial_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_ARGV[0] = 'seq' THEN
    IF NEW.seq IS NULL THEN NEW.seq := nextval(pg_get_serial_sequence(TG_TABLE_NAME, 'seq')); END IF;
  ELSE
    IF NEW.id IS NULL THEN NEW.id := nextval(pg_get_serial_sequence(TG_TABLE_NAME, 'id')); END IF;
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER repositories_id BEFORE INSERT ON "repositories" FOR EACH ROW EXECUTE FUNCTION meridian_serial_key('id');
--> statement-breakpoint
CREATE TRIGGER replication_jobs_id BEFORE INSERT ON "replication_jobs" FOR EACH ROW EXECUTE FUNCTION meridian_serial_key('id');
--> statement-breakpoint
CREATE TRIGGER changes_seq BEFORE INSERT ON "changes" FOR EACH ROW EXECUTE FUNCTION meridian_serial_key('seq');
--> statement-breakpoint
CREATE TRIGGER accounts_id BEFORE INSERT ON "accounts" FOR EACH ROW EXECUTE FUNCTION meridian_serial_key('id');
