// Box rows of the state database: insert, look up, compare-and-set updates, per-box locks, portal claims, counters.
import { boxliteError } from '../errors.js';
import { BoxProcesses } from './box-processes.js';
import { DbGuard } from './db-guard.js';
import type { StateDb } from './db.js';
import { formatIdentity, isAlive, parseIdentity, type ProcessIdentity } from './process-identity.js';

/** The persisted state of one box. Times are epoch milliseconds. */
export interface BoxRecord {
  id: string;
  name: string | undefined;
  status: 'unknown' | 'configured' | 'running' | 'stopping' | 'stopped' | 'paused';
  optionsJson: string;
  image: string;
  cpus: number;
  memoryMib: number;
  labels: Record<string, string>;
  createdAt: number;
  lastUpdated: number;
  /** The VMM process, while active. */
  vmm: ProcessIdentity | undefined;
  bootId: string | undefined;
  containerId: string | undefined;
  accelerator: 'kvm' | 'tcg' | undefined;
  lastError: string | undefined;
  detach: boolean;
  autoRemove: boolean;
  /** The process the VM dies with (non-detached boxes), while active. */
  owner: ProcessIdentity | undefined;
  lockOwner: ProcessIdentity | undefined;
  timingsJson: string | undefined;
  /** For image boxes: the manifest digest and the image config (JSON) resolved at the first start. */
  imageDigest: string | undefined;
  imageConfigJson: string | undefined;
  /** The ports published at the last start (JSON array of PortForward), with the host ports actually bound. */
  portsJson: string | undefined;
  /** The box's jail at its last start (JSON of JailRecord): uid, cgroup, jail directory. */
  jailJson: string | undefined;
  /** The current network policy and passt's uid (JSON of NetworkState); undefined: as created. */
  networkJson: string | undefined;
  commandsRun: number;
  runErrors: number;
  bytesSent: number;
  bytesReceived: number;
}

interface Row {
  id: string; name: string | null; status: string; options_json: string; image: string; cpus: number; memory_mib: number;
  labels_json: string; created_at: number; last_updated: number; pid: number | null; pid_start: number | null;
  boot_id: string | null; container_id: string | null; accelerator: string | null; last_error: string | null;
  detach: number; auto_remove: number; owner_pid: number | null; owner_start: number | null; lock_owner: string | null;
  timings_json: string | null; image_digest: string | null; image_config_json: string | null; ports_json: string | null; jail_json: string | null; network_json: string | null; commands_run: number; run_errors: number; bytes_sent: number; bytes_received: number;
}

/** Fields a state change may set. */
export type BoxPatch = Partial<Pick<BoxRecord, 'status' | 'vmm' | 'bootId' | 'containerId' | 'accelerator' | 'lastError' | 'owner' | 'timingsJson' | 'imageDigest' | 'imageConfigJson' | 'portsJson' | 'jailJson' | 'networkJson'>>;

const identityOrNull = (id: ProcessIdentity | undefined): [number | null, number | null] => (id ? [id.pid, id.start] : [null, null]);

/**
 * Box rows. Every method is one statement or one transaction, safe against other processes on the same file, and
 * fails only with a BoxliteError naming the file (see DbGuard).
 */
export class BoxStore {
  /** The recorded processes (VM, helpers) of each box. */
  readonly processes: BoxProcesses;
  private readonly guard: DbGuard;

  constructor(private readonly db: StateDb) {
    this.guard = new DbGuard(db);
    this.processes = new BoxProcesses(db, this.guard);
  }

  /** The database file. */
  get file(): string {
    return this.guard.file;
  }

  /** Inserts a new box; AlreadyExists when the name is taken. */
  insert(r: BoxRecord): void {
    // A new box never takes the full-disk ballast: that is kept for stopping and removing boxes.
    this.guard.run(`recording the new box ${r.id}`, () => this.insertRow(r), 'no-reserve');
  }

  private insertRow(r: BoxRecord): void {
    try {
      this.db.prepare(`INSERT INTO boxes (id, name, status, options_json, image, cpus, memory_mib, labels_json, created_at, last_updated,
        detach, auto_remove, container_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(r.id, r.name ?? null, r.status, r.optionsJson, r.image, r.cpus, r.memoryMib, JSON.stringify(r.labels), r.createdAt, r.lastUpdated,
          r.detach ? 1 : 0, r.autoRemove ? 1 : 0, r.containerId ?? null);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw boxliteError('AlreadyExists', `a box named ${JSON.stringify(r.name)} already exists; pick another name or remove that box first`, err);
      }
      throw err;
    }
  }

  get(id: string): BoxRecord | undefined {
    return this.guard.run(`reading box ${id}`, () => {
      return toRecord(this.db.prepare('SELECT * FROM boxes WHERE id = ?').get(id) as Row | undefined);
    });
  }

  /** Finds by exact id, then name, then unique id prefix (at least 4 characters). */
  find(idOrName: string): BoxRecord | undefined {
    return this.guard.run(`looking up box ${JSON.stringify(idOrName)}`, () => {
      const up = idOrName.toUpperCase();
      const exact = this.get(up) ?? toRecord(this.db.prepare('SELECT * FROM boxes WHERE name = ?').get(idOrName) as Row | undefined);
      if (exact || up.length < 4 || !/^[0-9A-Z]+$/.test(up)) return exact;
      const rows = this.db.prepare('SELECT * FROM boxes WHERE id LIKE ? LIMIT 2').all(`${up}%`) as Row[];
      if (rows.length > 1) throw boxliteError('InvalidArgument', `id prefix ${JSON.stringify(idOrName)} matches several boxes; give more characters`);
      return toRecord(rows[0]);
    });
  }

  /** Every box, oldest first. */
  list(): BoxRecord[] {
    return this.guard.run('listing boxes', () => {
      return (this.db.prepare('SELECT * FROM boxes ORDER BY created_at, id').all() as Row[]).map((r) => toRecord(r)!);
    });
  }

  /** Applies a patch; with `expect`, only if the status is still one of those (compare-and-set). True if applied. */
  update(id: string, patch: BoxPatch, expect?: ReadonlyArray<BoxRecord['status']>): boolean {
    return this.guard.run(`updating box ${id}`, () => {
      const sets: string[] = ['last_updated = ?'];
      const args: unknown[] = [Date.now()];
      const set = (col: string, v: unknown): void => { sets.push(`${col} = ?`); args.push(v); };
      if (patch.status !== undefined) set('status', patch.status);
      if ('vmm' in patch) { const [p, s] = identityOrNull(patch.vmm); set('pid', p); set('pid_start', s); }
      if ('owner' in patch) { const [p, s] = identityOrNull(patch.owner); set('owner_pid', p); set('owner_start', s); }
      if ('bootId' in patch) set('boot_id', patch.bootId ?? null);
      if ('containerId' in patch) set('container_id', patch.containerId ?? null);
      if ('accelerator' in patch) set('accelerator', patch.accelerator ?? null);
      if ('lastError' in patch) set('last_error', patch.lastError ?? null);
      if ('timingsJson' in patch) set('timings_json', patch.timingsJson ?? null);
      if ('imageDigest' in patch) set('image_digest', patch.imageDigest ?? null);
      if ('imageConfigJson' in patch) set('image_config_json', patch.imageConfigJson ?? null);
      if ('portsJson' in patch) set('ports_json', patch.portsJson ?? null);
      if ('jailJson' in patch) set('jail_json', patch.jailJson ?? null);
      if ('networkJson' in patch) set('network_json', patch.networkJson ?? null);
      let where = 'id = ?';
      args.push(id);
      if (expect) { where += ` AND status IN (${expect.map(() => '?').join(',')})`; args.push(...expect); }
      return this.db.prepare(`UPDATE boxes SET ${sets.join(', ')} WHERE ${where}`).run(...args).changes === 1;
    });
  }

  /** Deletes a box row (and its portal claims). */
  delete(id: string): void {
    return this.guard.run(`deleting box ${id}`, () => {
      this.db.prepare('DELETE FROM boxes WHERE id = ?').run(id);
    });
  }

  /**
   * Takes the box's lifecycle lock for `me`; a lock held by a process that has died is taken over.
   * Returns true when `me` holds it, false when a live process does, undefined when the box is gone.
   */
  tryLock(id: string, me: ProcessIdentity): boolean | undefined {
    return this.guard.run(`locking box ${id}`, () => {
      return this.db.transaction(() => {
        const row = this.db.prepare('SELECT lock_owner FROM boxes WHERE id = ?').get(id) as { lock_owner: string | null } | undefined;
        if (!row) return undefined;
        const holder = parseIdentity(row.lock_owner);
        if (holder && formatIdentity(holder) !== formatIdentity(me) && isAlive(holder)) return false;
        this.db.prepare('UPDATE boxes SET lock_owner = ?, lock_at = ? WHERE id = ?').run(formatIdentity(me), Date.now(), id);
        return true;
      }).immediate();
    });
  }

  /** Releases the lock if `me` holds it. */
  unlock(id: string, me: ProcessIdentity): void {
    return this.guard.run(`unlocking box ${id}`, () => {
      this.db.prepare('UPDATE boxes SET lock_owner = NULL, lock_at = NULL WHERE id = ? AND lock_owner = ?').run(id, formatIdentity(me));
    });
  }

  /** Adds to a box's command and byte counters; skipped on a full disk (a command still runs). */
  addBoxCounters(id: string, d: { commands?: number; errors?: number; sent?: number; received?: number }): void {
    this.guard.runOrSkipIfFull(`counting commands of box ${id}`, () => {
      this.db.prepare(`UPDATE boxes SET commands_run = commands_run + ?, run_errors = run_errors + ?, bytes_sent = bytes_sent + ?,
        bytes_received = bytes_received + ? WHERE id = ?`).run(d.commands ?? 0, d.errors ?? 0, d.sent ?? 0, d.received ?? 0, id);
    });
  }

  /** Adds `n` to a runtime-wide counter; skipped on a full disk. */
  bump(name: string, n = 1): void {
    this.guard.runOrSkipIfFull(`counting ${name}`, () => {
      this.db.prepare('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value').run(name, n);
    });
  }

  /** Image digests that boxes use (so image prune keeps them). */
  imageDigestsInUse(): Set<string> {
    return this.guard.run('reading the images boxes use', () => {
      const rows = this.db.prepare('SELECT DISTINCT image_digest FROM boxes WHERE image_digest IS NOT NULL').all() as Array<{ image_digest: string }>;
      return new Set(rows.map((r) => r.image_digest));
    });
  }

  /** Every runtime-wide counter. */
  counters(): Record<string, number> {
    return this.guard.run('reading counters', () => {
      const rows = this.db.prepare('SELECT name, value FROM counters').all() as Array<{ name: string; value: number }>;
      return Object.fromEntries(rows.map((r) => [r.name, r.value]));
    });
  }

  /**
   * Claims a free portal port of a box for `me`, one runtime instance (ports held by dead processes are free; two
   * runtimes of one process get a port each). Undefined when all are taken.
   */
  claimPort(boxId: string, ports: number, me: ProcessIdentity): number | undefined {
    return this.guard.run(`claiming a portal port of box ${boxId}`, () => {
      return this.db.transaction(() => {
        const held = this.db.prepare('SELECT port, owner FROM portal_claims WHERE box_id = ?').all(boxId) as Array<{ port: number; owner: string }>;
        for (let port = 0; port < ports; port++) {
          const claim = held.find((h) => h.port === port);
          if (claim && isAlive(parseIdentity(claim.owner)) && claim.owner !== formatIdentity(me)) continue;
          this.db.prepare('INSERT OR REPLACE INTO portal_claims (box_id, port, owner) VALUES (?, ?, ?)').run(boxId, port, formatIdentity(me));
          return port;
        }
        return undefined;
      }).immediate();
    });
  }

  /** Forgets every portal claim of a box (its VM is gone, so are the connections). */
  clearPortClaims(boxId: string): void {
    return this.guard.run(`clearing portal claims of box ${boxId}`, () => {
      this.db.prepare('DELETE FROM portal_claims WHERE box_id = ?').run(boxId);
    });
  }

  /** Releases a portal port claimed by `me`. */
  releasePort(boxId: string, port: number, me: ProcessIdentity): void {
    return this.guard.run(`releasing portal port ${port} of box ${boxId}`, () => {
      this.db.prepare('DELETE FROM portal_claims WHERE box_id = ? AND port = ? AND owner = ?').run(boxId, port, formatIdentity(me));
    });
  }
}

function toRecord(r: Row | undefined): BoxRecord | undefined {
  if (!r) return undefined;
  const ident = (pid: number | null, start: number | null): ProcessIdentity | undefined => (pid === null || start === null ? undefined : { pid, start });
  return {
    id: r.id, name: r.name ?? undefined, status: r.status as BoxRecord['status'], optionsJson: r.options_json, image: r.image,
    cpus: r.cpus, memoryMib: r.memory_mib, labels: JSON.parse(r.labels_json) as Record<string, string>,
    createdAt: r.created_at, lastUpdated: r.last_updated, vmm: ident(r.pid, r.pid_start), bootId: r.boot_id ?? undefined,
    containerId: r.container_id ?? undefined, accelerator: (r.accelerator ?? undefined) as BoxRecord['accelerator'],
    lastError: r.last_error ?? undefined, detach: r.detach === 1, autoRemove: r.auto_remove === 1,
    owner: ident(r.owner_pid, r.owner_start), lockOwner: parseIdentity(r.lock_owner), timingsJson: r.timings_json ?? undefined,
    imageDigest: r.image_digest ?? undefined, imageConfigJson: r.image_config_json ?? undefined, portsJson: r.ports_json ?? undefined,
    jailJson: r.jail_json ?? undefined,
    networkJson: r.network_json ?? undefined,
    commandsRun: r.commands_run, runErrors: r.run_errors, bytesSent: r.bytes_sent, bytesReceived: r.bytes_received,
  };
}
