// A small file of ballast beside the state database, given up when the disk is full so the database can still record stops and removals.
import fs from 'node:fs';
import { isDiskFull } from '../errors.js';

/** How much ballast the home keeps: room for a few hundred WAL frames (a stop and a removal write a handful each). */
export const RESERVE_BYTES = 2 * 1024 * 1024;

/**
 * The ballast file `<home>/db/reserve`. When a write the user needs to get out of a full disk (stop, remove, a lock,
 * a recorded failure) fails for lack of space, the file is deleted, the write retried, and the ballast made again
 * from whatever space is left, so the freed room goes to the database, not to whoever writes next.
 */
export class SpaceReserve {
  constructor(readonly path: string, private readonly bytes = RESERVE_BYTES) {}

  /** Grows the file to its full size, as far as the disk allows; true when it has it. Never throws: the ballast is best-effort. */
  refill(): boolean {
    let fd: number | undefined;
    let at = 0;
    try {
      fd = fs.openSync(this.path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
      // Positional writes from the current size: two processes refilling at once write the same ranges.
      at = fs.fstatSync(fd).size;
      for (let chunk = 64 * 1024; chunk >= 4096 && at < this.bytes;) {
        try {
          const n = Math.min(chunk, this.bytes - at);
          const wrote = fs.writeSync(fd, Buffer.alloc(n), 0, n, at);
          at += wrote;
          if (wrote < n) chunk >>= 1;
        } catch {
          chunk >>= 1; // the disk is (nearly) full: smaller writes for the last blocks, then give up
        }
      }
    } catch {
      // No room even to create it, or the directory is gone: there is no ballast until space is freed.
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    return at >= this.bytes;
  }

  /** Deletes the ballast to free its space; false when there was none to give. */
  release(): boolean {
    try {
      const had = fs.statSync(this.path).size > 0;
      fs.unlinkSync(this.path);
      return had;
    } catch {
      return false;
    }
  }

  /**
   * Runs `fn`; when it fails for lack of space and there is ballast to give, gives it up, runs `fn` once more and
   * rebuilds the ballast from what is left. `onReleased` is told when the ballast was given up. Other failures,
   * and the retry's, are thrown as they are.
   */
  runFreeingIfFull<T>(fn: () => T, onReleased?: () => void): T {
    try {
      return fn();
    } catch (err) {
      if (!isDiskFull(err) || !this.release()) throw err;
      onReleased?.();
      try {
        return fn();
      } finally {
        this.refill();
      }
    }
  }
}
