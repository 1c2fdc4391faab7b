// Opens the state database (SQLite via better-sqlite3, WAL) and brings its schema forward.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { boxliteError, messageOf } from '../errors.js';
import { MIGRATIONS, SCHEMA_VERSION, type Migration } from './migrations.js';

/** The state database handle. */
export type StateDb = Database.Database;

/** How long a writer waits for another process's transaction before failing. */
const BUSY_TIMEOUT_MS = 10_000;

/** Opens (creating if needed) `<home>/db/boxlite.db` and migrates it to SCHEMA_VERSION. */
export function openStateDb(homeDir: string, migrations: readonly Migration[] = MIGRATIONS): StateDb {
  const file = path.join(homeDir, 'db', 'boxlite.db');
  let db: StateDb;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
  } catch (err) {
    throw boxliteError('Database', `cannot open the state database ${file}: ${messageOf(err)}; check the home dir's permissions and free space`, err);
  }
  try {
    migrate(db, file, migrations);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Applies every migration newer than the database's `user_version`, each in its own IMMEDIATE transaction. */
export function migrate(db: StateDb, file: string, migrations: readonly Migration[] = MIGRATIONS): void {
  const latest = migrations.at(-1)?.version ?? 0;
  for (const m of migrations) {
    const apply = db.transaction(() => {
      const current = db.pragma('user_version', { simple: true }) as number;
      if (current >= m.version) return;
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    });
    try {
      apply.immediate();
    } catch (err) {
      throw boxliteError('Database', `migrating ${file} to schema v${m.version} (${m.description}) failed: ${messageOf(err)}; the database was left at its previous version`, err);
    }
  }
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > latest) {
    throw boxliteError('Database', `the state database ${file} has schema v${version}, newer than this boxlite understands (v${latest}); upgrade boxlite, or use another homeDir for this version`);
  }
}

export { SCHEMA_VERSION };
