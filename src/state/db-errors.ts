// What a failure of the state database becomes: a Storage error for a full disk, else a Database error naming the file.
import { BoxliteError, boxliteError, diskFullError, isDiskFull, messageOf } from '../errors.js';

/** What to do with a damaged database file (said by every error about one). */
export function damagedAdvice(file: string): string {
  return `restore ${file} from a backup, or move it (with its -wal and -shm files) aside to start with no boxes`;
}

/** A Database error for a database file that is not whole. */
export function damaged(file: string, why: string, cause?: unknown): BoxliteError {
  return boxliteError('Database', `the state database ${file} is damaged: ${why}; ${damagedAdvice(file)}`, cause);
}

/**
 * `err`, thrown while `what` used the database `file`, as a BoxliteError: a BoxliteError passes through, a full disk
 * is Storage, anything else (SQLite's errors, a row that does not parse) is Database — each naming the file.
 */
export function dbFailure(what: string, file: string, err: unknown): BoxliteError {
  if (BoxliteError.is(err)) return err;
  if (isDiskFull(err)) return diskFullError(`${what} (state database ${file})`, file, err);
  const code = String((err as { code?: unknown } | null)?.code ?? '');
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return damaged(file, `${what} failed with ${code} (${messageOf(err)})`, err);
  const hint = code.startsWith('SQLITE_BUSY') ? '; another process held it longer than the 10 s wait: try again'
    : code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM') ? '; check that this user can write the file and its directory'
      : code.startsWith('SQLITE_IOERR') ? '; the disk holding it failed a read or write: check it (dmesg) and try again' : '';
  return boxliteError('Database', `${what} failed: the state database ${file} answered ${code || 'an error'}: ${messageOf(err)}${hint}`, err);
}
