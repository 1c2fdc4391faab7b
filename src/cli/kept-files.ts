// Where a detached command's kept output lives (<home>/boxes/<id>/logs/), and its keeper's state file, written atomically.
import fs from 'node:fs';
import path from 'node:path';
import { isAlive, type ProcessIdentity } from '../state/process-identity.js';

/** The most bytes of output the current log file holds before it is rotated (one older file is kept). */
export const LOG_FILE_MAX_BYTES = 4 * 1024 * 1024;

/** What the keeper of a detached command says about it. */
export interface KeeperState {
  /** The keeper process (pid and start time, so a reused pid is not mistaken for it). */
  keeper: ProcessIdentity;
  argv: string[];
  startedAt: string;
  /** Set when the command ended: its exit code (negative: killed by that signal). */
  exitCode?: number;
  endedAt?: string;
  /** Why the keeper stopped keeping (the box stopped, the connection broke), if not the command's end. */
  error?: string;
}

/** The files of the kept output of one box. */
export class KeptFiles {
  readonly dir: string;

  constructor(homeDir: string, readonly boxId: string) {
    this.dir = path.join(homeDir, 'boxes', boxId, 'logs');
  }

  /** The log being written. */
  get current(): string { return path.join(this.dir, 'output.log'); }
  /** The log rotated out of the way when `current` filled up (at most one is kept). */
  get previous(): string { return path.join(this.dir, 'output.log.1'); }
  get stateFile(): string { return path.join(this.dir, 'keeper.json'); }

  /** The keeper's state, or undefined when no command of the box was kept (or the box is gone). */
  readState(): KeeperState | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.stateFile, 'utf8')) as KeeperState;
    } catch {
      return undefined;
    }
  }

  /** Writes the state to a temp file and renames it into place; false when the box's directory is gone. */
  writeState(state: KeeperState): boolean {
    const tmp = `${this.stateFile}.tmp-${process.pid}`;
    try {
      fs.writeFileSync(tmp, `${JSON.stringify(state)}\n`, { mode: 0o600 });
      fs.renameSync(tmp, this.stateFile);
      return true;
    } catch {
      try { fs.rmSync(tmp, { force: true }); } catch { /* the directory is gone */ }
      return false;
    }
  }

  /** True while the keeper that wrote the state still runs. */
  keeperAlive(): boolean {
    const s = this.readState();
    return s !== undefined && s.exitCode === undefined && isAlive(s.keeper);
  }
}
