// Every statement of the state database through one gate: typed errors naming the file, the ballast on a full disk, and a file that vanished noticed.
import fs from 'node:fs';
import path from 'node:path';
import { boxliteError, isDiskFull, messageOf } from '../errors.js';
import { dbFailure } from './db-errors.js';
import { reserveOf, type StateDb } from './db.js';
import type { SpaceReserve } from './space-reserve.js';

/** Whether a write may give up the ballast when the disk is full: yes for what gets a user out (stop, remove), no for new boxes. */
export type ReserveUse = 'may-use-reserve' | 'no-reserve';

/** Runs the statements of one database handle; see `run`. */
export class DbGuard {
  /** The database file. */
  readonly file: string;
  private readonly identity: { dev: number; ino: number } | undefined;
  private readonly reserve: SpaceReserve;
  private savedCopy: string | undefined;
  private depleted = false;

  constructor(private readonly db: StateDb) {
    this.file = db.name;
    this.reserve = reserveOf(this.file);
    this.identity = db.memory ? undefined : statOf(this.file);
  }

  /**
   * Runs `fn` (one statement or transaction). Any failure leaves as a BoxliteError naming the file: Database, or
   * Storage for a full disk, where `reserve` says whether the ballast may be given up for one retry. A database
   * file deleted or replaced since it was opened is a Database error, before anything is read from or written to
   * the stale copy this handle still holds.
   */
  run<T>(what: string, fn: () => T, reserve: ReserveUse = 'may-use-reserve'): T {
    this.assertSameFile(what);
    let released = false;
    let result: T;
    try {
      result = reserve === 'no-reserve' ? fn() : this.reserve.runFreeingIfFull(fn, () => { released = true; this.depleted = true; });
    } catch (err) {
      throw dbFailure(what, this.file, err);
    }
    if (released) return result;
    // After the ballast was given up, each later statement tops it up again, until space freed (a box removed) lets it.
    if (this.depleted) this.depleted = !this.reserve.refill();
    return result;
  }

  /** Like `run` for a write that may be dropped (a counter): on a full disk it is skipped, not an error. */
  runOrSkipIfFull(what: string, fn: () => void): void {
    try {
      this.run(what, fn, 'no-reserve');
    } catch (err) {
      if (!isDiskFull(err)) throw err;
    }
  }

  private assertSameFile(what: string): void {
    if (!this.identity) return;
    const now = statOf(this.file);
    if (now && now.dev === this.identity.dev && now.ino === this.identity.ino) return;
    const copy = this.saveCopy();
    throw boxliteError('Database',
      `${what} failed: the state database ${this.file} was ${now ? 'replaced by another file' : 'deleted'} while this runtime had it open. ` +
      `The boxes it recorded still have their directories under ${path.join(path.dirname(path.dirname(this.file)), 'boxes')}, and their VMs may still run. ` +
      (copy.saved ? `What this runtime still had open was saved to ${copy.path}: close every runtime of this home, then move that file to ${this.file}`
        : `Saving what this runtime still had open to ${copy.path} failed too (${copy.why}); restore ${this.file} from a backup`));
  }

  // Writes what this handle still holds (the unlinked file) next to the lost one, once, for the user to put back.
  private saveCopy(): { saved: true; path: string } | { saved: false; path: string; why: string } {
    const copy = this.savedCopy ?? `${this.file}.recovered-${process.pid}`;
    if (this.savedCopy) return { saved: true, path: copy };
    try {
      fs.mkdirSync(path.dirname(copy), { recursive: true, mode: 0o700 });
      fs.rmSync(copy, { force: true });
      this.db.exec(`VACUUM INTO '${copy.replaceAll("'", "''")}'`);
      this.savedCopy = copy;
      return { saved: true, path: copy };
    } catch (err) {
      return { saved: false, path: copy, why: messageOf(err) };
    }
  }
}

function statOf(file: string): { dev: number; ino: number } | undefined {
  try {
    const st = fs.statSync(file);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}
