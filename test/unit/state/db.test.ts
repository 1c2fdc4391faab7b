import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { BoxliteRuntime } from '../../../src/runtime/runtime.js';
import { BoxStore, type BoxRecord } from '../../../src/state/box-store.js';
import { openStateDb } from '../../../src/state/db.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../../src/state/migrations.js';
import { formatIdentity, isAlive, parseIdentity, processStartTime, runtimeIdentity, selfIdentity } from '../../../src/state/process-identity.js';

const tmpHome = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-db-'));
const isError = (code: string, re: RegExp) => (e: unknown): boolean => BoxliteError.is(e) && e.code === code && re.test(e.message);

function record(id: string, name?: string): BoxRecord {
  return {
    id, name, status: 'configured', optionsJson: '{}', image: '/rootfs', cpus: 1, memoryMib: 256, labels: { team: 'a' },
    createdAt: Date.now(), lastUpdated: Date.now(), vmm: undefined, bootId: undefined, containerId: undefined, accelerator: undefined,
    lastError: undefined, detach: false, autoRemove: true, owner: undefined, lockOwner: undefined, timingsJson: undefined,
    imageDigest: undefined, imageConfigJson: undefined, portsJson: undefined, jailJson: undefined, networkJson: undefined,
    commandsRun: 0, runErrors: 0, bytesSent: 0, bytesReceived: 0,
  };
}

// A process identity that is certainly dead: a child that has exited.
function deadIdentity(): { pid: number; start: number } {
  const r = spawnSync('sh', ['-c', 'echo $$; cat /proc/$$/stat']);
  const [pid, stat] = r.stdout.toString().split('\n');
  const s = stat!;
  return { pid: Number(pid), start: Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[19]) };
}

describe('state database', () => {
  it('creates a new database in WAL mode at the latest schema', () => {
    const db = openStateDb(tmpHome());
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  it('migrates a database from an older schema, keeping its rows', () => {
    const home = tmpHome();
    const old = openStateDb(home, MIGRATIONS.slice(0, 1));
    old.prepare(`INSERT INTO boxes (id, name, status, options_json, image, cpus, memory_mib, created_at, last_updated)
      VALUES ('01J0000000000000000000000A', 'kept', 'stopped', '{}', '/r', 1, 256, 1, 1)`).run();
    old.close();
    const db = openStateDb(home);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    const rec = new BoxStore(db).find('kept');
    assert.equal(rec?.status, 'stopped');
    assert.equal(rec?.autoRemove, true, 'new columns get their defaults');
    db.close();
  });

  it('refuses a database from a newer boxlite with a clear error, without touching it', () => {
    const home = tmpHome();
    openStateDb(home).close();
    const raw = new Database(path.join(home, 'db', 'boxlite.db'));
    raw.pragma('user_version = 99');
    raw.close();
    assert.throws(() => openStateDb(home), isError('Database', /schema v99, newer than this boxlite understands \(v\d+\); upgrade boxlite/));
  });
});

describe('box store', () => {
  it('rejects a taken name with AlreadyExists', () => {
    const store = new BoxStore(openStateDb(tmpHome()));
    store.insert(record('01J0000000000000000000000A', 'web'));
    assert.throws(() => store.insert(record('01J0000000000000000000000B', 'web')), isError('AlreadyExists', /"web" already exists/));
  });

  it('finds by id, name and unique prefix; an ambiguous prefix is an error', () => {
    const store = new BoxStore(openStateDb(tmpHome()));
    store.insert(record('01JAAAA0000000000000000001', 'one'));
    store.insert(record('01JAAAA0000000000000000002'));
    store.insert(record('01JBBBB0000000000000000003'));
    assert.equal(store.find('one')?.id, '01JAAAA0000000000000000001');
    assert.equal(store.find('01jbbbb')?.id, '01JBBBB0000000000000000003');
    assert.throws(() => store.find('01JAAAA'), isError('InvalidArgument', /matches several boxes/));
    assert.equal(store.find('zzzz'), undefined);
  });

  it('updates only from the expected states (compare-and-set)', () => {
    const store = new BoxStore(openStateDb(tmpHome()));
    store.insert(record('01J0000000000000000000000A'));
    assert.equal(store.update('01J0000000000000000000000A', { status: 'running' }, ['stopped']), false);
    assert.equal(store.update('01J0000000000000000000000A', { status: 'running' }, ['configured']), true);
    assert.equal(store.get('01J0000000000000000000000A')?.status, 'running');
  });

  it('hands the box lock to one live process and takes it over from a dead one', () => {
    const home = tmpHome();
    const a = new BoxStore(openStateDb(home));
    const b = new BoxStore(openStateDb(home));
    a.insert(record('01J0000000000000000000000A'));
    const parent = { pid: process.ppid, start: processStartTime(process.ppid)! };
    assert.equal(a.tryLock('01J0000000000000000000000A', parent), true);
    assert.equal(b.tryLock('01J0000000000000000000000A', selfIdentity()), false, 'a live holder keeps the lock');
    a.unlock('01J0000000000000000000000A', parent);
    assert.equal(a.tryLock('01J0000000000000000000000A', deadIdentity()), true);
    assert.equal(b.tryLock('01J0000000000000000000000A', selfIdentity()), true, 'a dead holder loses the lock');
    assert.equal(b.tryLock('01JXXXXXXXXXXXXXXXXXXXXXXX', selfIdentity()), undefined);
  });

  it('gives each live process its own portal port and reclaims ports of dead ones', () => {
    const store = new BoxStore(openStateDb(tmpHome()));
    store.insert(record('01J0000000000000000000000A'));
    const parent = { pid: process.ppid, start: processStartTime(process.ppid)! };
    assert.equal(store.claimPort('01J0000000000000000000000A', 2, parent), 0);
    assert.equal(store.claimPort('01J0000000000000000000000A', 2, deadIdentity()), 1);
    assert.equal(store.claimPort('01J0000000000000000000000A', 2, selfIdentity()), 1, 'the dead claim on port 1 is reclaimed');
    assert.equal(store.claimPort('01J0000000000000000000000A', 2, { pid: 1, start: processStartTime(1)! }), undefined);
  });
});

describe('runtime instances of one process', () => {
  it('hostile review #9: two runtimes of one process claim a portal port each, and share no lock', () => {
    const store = new BoxStore(openStateDb(tmpHome()));
    store.insert(record('01J0000000000000000000000A'));
    const [a, b] = [runtimeIdentity(), runtimeIdentity()];
    assert.equal(store.claimPort('01J0000000000000000000000A', 4, a), 0);
    assert.equal(store.claimPort('01J0000000000000000000000A', 4, b), 1, 'the second runtime does not take the first one\'s port');
    assert.equal(store.claimPort('01J0000000000000000000000A', 4, a), 0, 'a runtime claiming again keeps its own port');
    store.releasePort('01J0000000000000000000000A', 0, a);
    assert.equal(store.claimPort('01J0000000000000000000000A', 4, runtimeIdentity()), 0, 'a released port is free again');
    assert.equal(store.tryLock('01J0000000000000000000000A', a), true);
    assert.equal(store.tryLock('01J0000000000000000000000A', b), false, 'the lock of one runtime holds against another of the same process');
    assert.deepEqual(parseIdentity(formatIdentity(a)), a);
    assert.equal(isAlive(parseIdentity(formatIdentity(a))), true, 'a runtime is alive while its process is');
  });
});

describe('hostile review #10: a damaged or lost state database is a Database error naming the file, never an empty list', () => {
  // A home whose database holds one box (with its directory under boxes/, as after a start), closed.
  const homeWithBox = (): { home: string; file: string } => {
    const home = tmpHome();
    const db = openStateDb(home);
    new BoxStore(db).insert(record('01J0000000000000000000000A', 'kept'));
    db.close();
    fs.mkdirSync(path.join(home, 'boxes', '01J0000000000000000000000A'), { recursive: true });
    return { home, file: path.join(home, 'db', 'boxlite.db') };
  };
  const databaseError = (file: string, re: RegExp) => (e: unknown): boolean => {
    assert.ok(BoxliteError.is(e) && e.code === 'Database', String(e));
    assert.ok(e.message.includes(file), `names the file: ${e.message}`);
    assert.match(e.message, re);
    return true;
  };

  it('a database truncated mid-page', () => {
    const { home, file } = homeWithBox();
    fs.truncateSync(file, fs.statSync(file).size - 100);
    assert.throws(() => openStateDb(home), databaseError(file, /not a whole number of 4096-byte pages: truncated; restore .* from a backup/));
    assert.throws(() => new BoxliteRuntime({ homeDir: home, snapshots: false }), databaseError(file, /truncated/));
  });

  it('a database truncated to its first page', () => {
    const { home, file } = homeWithBox();
    fs.truncateSync(file, 4096);
    assert.throws(() => openStateDb(home), databaseError(file, /is damaged: /));
  });

  it('a database with garbage after its first page, at open and under an open handle', () => {
    const { home, file } = homeWithBox();
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, randomBytes(size - 4096), 0, size - 4096, 4096);
    fs.closeSync(fd);
    assert.throws(() => new BoxliteRuntime({ homeDir: home, snapshots: false }), databaseError(file, /is damaged: /));
    // A handle opened without the checks: every store call still fails typed, naming the file.
    const store = new BoxStore(new Database(file));
    assert.throws(() => store.list(), databaseError(file, /listing boxes failed with SQLITE_CORRUPT|SQLITE_NOTADB/));
    assert.throws(() => store.update('01J0000000000000000000000A', { status: 'stopped' }), databaseError(file, /updating box 01J0000000000000000000000A/));
  });

  it('a missing or empty database while box directories exist: refused, naming the boxes; a new home is fine', () => {
    for (const lose of [(f: string) => fs.rmSync(f), (f: string) => fs.truncateSync(f, 0)]) {
      const { home, file } = homeWithBox();
      lose(file);
      assert.throws(() => new BoxliteRuntime({ homeDir: home, snapshots: false }),
        databaseError(file, /is (missing|empty), but .*boxes holds 1 box directory \(01J0000000000000000000000A\); no VM of theirs is running\. .*move .*boxes aside/));
    }
    const fresh = tmpHome();
    fs.mkdirSync(path.join(fresh, 'boxes'));
    new BoxliteRuntime({ homeDir: fresh, snapshots: false }).close();
  });

  it('a database deleted under an open store: the next call fails, and what the store held is saved for putting back', () => {
    const { home, file } = homeWithBox();
    const store = new BoxStore(openStateDb(home));
    for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
    let saved = '';
    assert.throws(() => store.list(), (e: unknown) => {
      databaseError(file, /was deleted while this runtime had it open/)(e);
      saved = /saved to (\S+):/.exec((e as Error).message)?.[1] ?? '';
      return true;
    });
    fs.renameSync(saved, file);
    assert.deepEqual(new BoxStore(openStateDb(home)).list().map((r) => r.name), ['kept'], 'the saved copy holds the box');
  });
});

describe('process identity', () => {
  it('tells a live process from a reused pid (same pid, other start time)', () => {
    const me = selfIdentity();
    assert.equal(isAlive(me), true);
    assert.equal(isAlive({ pid: me.pid, start: me.start + 1 }), false);
    assert.equal(isAlive(deadIdentity()), false);
  });
});
