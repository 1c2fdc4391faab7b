// Numbered forward migrations of the state database; each runs once, in order, inside a transaction.

/** One schema step. `version` is the schema version after it runs. */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

/** Every migration, oldest first. Never edit a released one: add the next. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'boxes and runtime counters',
    sql: `
      CREATE TABLE boxes (
        id            TEXT PRIMARY KEY,
        name          TEXT UNIQUE,
        status        TEXT NOT NULL,
        options_json  TEXT NOT NULL,
        image         TEXT NOT NULL,
        cpus          INTEGER NOT NULL,
        memory_mib    INTEGER NOT NULL,
        labels_json   TEXT NOT NULL DEFAULT '{}',
        created_at    INTEGER NOT NULL,
        last_updated  INTEGER NOT NULL,
        pid           INTEGER,
        pid_start     INTEGER,
        boot_id       TEXT,
        last_error    TEXT
      );
      CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `,
  },
  {
    version: 2,
    description: 'multi-process ownership, locks, accelerator, metrics',
    sql: `
      ALTER TABLE boxes ADD COLUMN container_id TEXT;
      ALTER TABLE boxes ADD COLUMN accelerator TEXT;
      ALTER TABLE boxes ADD COLUMN detach INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE boxes ADD COLUMN auto_remove INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE boxes ADD COLUMN owner_pid INTEGER;
      ALTER TABLE boxes ADD COLUMN owner_start INTEGER;
      ALTER TABLE boxes ADD COLUMN lock_owner TEXT;
      ALTER TABLE boxes ADD COLUMN lock_at INTEGER;
      ALTER TABLE boxes ADD COLUMN timings_json TEXT;
      ALTER TABLE boxes ADD COLUMN commands_run INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE boxes ADD COLUMN run_errors INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE boxes ADD COLUMN bytes_sent INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE boxes ADD COLUMN bytes_received INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE portal_claims (
        box_id    TEXT NOT NULL REFERENCES boxes(id) ON DELETE CASCADE,
        port      INTEGER NOT NULL,
        owner     TEXT NOT NULL,
        PRIMARY KEY (box_id, port)
      );
    `,
  },
  {
    version: 3,
    description: 'image digest and config of image boxes',
    sql: `
      ALTER TABLE boxes ADD COLUMN image_digest TEXT;
      ALTER TABLE boxes ADD COLUMN image_config_json TEXT;
    `,
  },
  {
    version: 4,
    description: 'ports published for a running box',
    sql: `
      ALTER TABLE boxes ADD COLUMN ports_json TEXT;
    `,
  },
  {
    version: 5,
    description: 'the processes of a box (VM and helpers), recorded as they start so that recovery can end them',
    sql: `
      CREATE TABLE box_processes (
        box_id    TEXT NOT NULL REFERENCES boxes(id) ON DELETE CASCADE,
        kind      TEXT NOT NULL,
        pid       INTEGER NOT NULL,
        pid_start INTEGER NOT NULL,
        marker    TEXT NOT NULL,
        PRIMARY KEY (box_id, kind)
      );
    `,
  },
  {
    version: 6,
    description: 'the jail of a box (its uid, cgroup and jail directory; src/jailer/box-jail.ts), kept from its last start',
    sql: `
      ALTER TABLE boxes ADD COLUMN jail_json TEXT;
    `,
  },
  {
    version: 7,
    description: 'the current network policy of a box (box.updateNetwork changes it) and the uid its passt runs as',
    sql: `
      ALTER TABLE boxes ADD COLUMN network_json TEXT;
    `,
  },
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
