// Opens the state database (SQLite via better-sqlite3, WAL) after checking it is whole, and brings its schema forward.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { boxliteError, isDiskFull, messageOf } from '../errors.js';
import { damaged, dbFailure } from './db-errors.js';
import { checkDbFile, lostDbError } from './db-health.js';
import { MIGRATIONS, SCHEMA_VERSION, type Migration } from './migrations.js';
import { SpaceReserve } from './space-reserve.js';

/** The state database handle. */
export type StateDb = Database.Database;

/** How long a writer waits for another process's transaction before failing. */
const BUSY_TIMEOUT_MS = 10_000;

/** The database file of a home dir. */
export function stateDbFile(homeDir: string): string {
  return path.join(homeDir, 'db', 'boxlite.db');
}

/** The ballast beside a database file (see SpaceReserve). */
export function reserveOf(file: string): SpaceReserve {
  return new SpaceReserve(path.join(path.dirname(file), 'reserve'));
}

/**
 * Opens (creating if needed) `<home>/db/boxlite.db` and migrates it to SCHEMA_VERSION. Refuses, with a Database
 * error naming the file, a file that is truncated or damaged, and a missing or empty one while box directories
 * exist (the database was lost; a new one would hide those boxes). On a full disk it gives up the home's ballast
 * (SpaceReserve) once to open; failing that, it is a Storage error.
 */
export function openStateDb(homeDir: string, migrations: readonly Migration[] = MIGRATIONS): StateDb {
  const file = stateDbFile(homeDir);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw boxliteError('Database', `cannot create the directory of the state database ${file}: ${messageOf(err)}; check the home dir's permissions and free space`, err);
  }
  const unusable = checkDbFile(file) ?? lostDbError(homeDir, file);
  if (unusable) throw unusable;
  const reserve = reserveOf(file);
  let db: StateDb;
  try {
    db = reserve.runFreeingIfFull(() => openChecked(file, migrations));
  } catch (err) {
    throw dbFailure('opening the state database', file, err);
  }
  reserve.refill();
  return db;
}

// Opens, checks the pages (`quick_check`: every page readable and well-formed, cheap on a database this size) and migrates.
function openChecked(file: string, migrations: readonly Migration[]): StateDb {
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    let problems: string[];
    try {
      problems = (db.pragma('quick_check') as Array<{ quick_check: string }>).map((r) => r.quick_check).filter((r) => r !== 'ok');
    } catch (err) {
      throw damaged(file, `SQLite cannot read it (${messageOf(err)})`, err);
    }
    if (problems.length > 0) throw damaged(file, `SQLite's check found ${problems.slice(0, 3).join('; ')}`);
    migrate(db, file, migrations);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Applies every migration newer than the database's `user_version`, each in its own IMMEDIATE transaction. */
export function migrate(db: StateDb, file: string, migrations: readonly Migration[] = MIGRATIONS): void {
  const latest = migrations.at(-1)?.version ?? 0;
  const version = (): number => db.pragma('user_version', { simple: true }) as number;
  for (const m of migrations) {
    // Nothing to do is decided without a write transaction, so an up-to-date database opens on a full disk.
    if (version() >= m.version) continue;
    const apply = db.transaction(() => {
      if (version() >= m.version) return;
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    });
    try {
      apply.immediate();
    } catch (err) {
      if (isDiskFull(err)) throw err;
      throw boxliteError('Database', `migrating ${file} to schema v${m.version} (${m.description}) failed: ${messageOf(err)}; the database was left at its previous version`, err);
    }
  }
  if (version() > latest) {
    throw boxliteError('Database', `the state database ${file} has schema v${version()}, newer than this boxlite understands (v${latest}); upgrade boxlite, or use another homeDir for this version`);
  }
}

export { SCHEMA_VERSION };
