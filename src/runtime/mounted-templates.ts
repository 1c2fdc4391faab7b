// Templates saved after MOUNT, per shape and root filesystem: a box restored from one starts mounted, with a copy of
// the template's writable disk, so its start sets only clock, entropy and hostname.
import fs from 'node:fs';
import path from 'node:path';
import { messageOf } from '../errors.js';
import type { GuestArtifacts } from '../setup/manifest.js';
import type { VmConfig } from '../vmm/config.js';
import type { SavedStream, VmmDriver } from '../vmm/driver.js';
import { copyDisk } from './fork.js';
import { shareRam } from './fork-ram.js';
import { saveSession } from './save-session.js';
import { warmUp } from './warm-up.js';
import type { BoxSession } from './lifecycle.js';
import { isBackingOff, ramDamage, readFailures, recordFailure, type TemplateStore } from './templates.js';
import { withFileLock, lockHeld } from '../util/file-lock.js';

/** Bumped when what a mounted template holds changes. */
const MOUNTED_FORMAT = 1;
/** Mounted templates kept per shape (each a RAM file and a disk copy): the least recently used go first. */
const MAX_PER_SHAPE = 8;

/** A usable mounted template. */
export interface MountedTemplate {
  dir: string;
  statePath: string;
  ramPath: string;
  upperPath: string;
}

/** What `record.json` of a mounted template says. */
interface MountedRecord {
  format: number;
  state: SavedStream;
  memoryMib: number;
}

/** What a mounted template is keyed by beyond its shape: the box's base disk and the size of its writable disk. */
export interface MountedKey {
  /** The base disk (its inode: a rootfs tree's cached disk is hard-linked into every box). */
  baseDisk: string;
  /** An image's manifest digest, when the box boots from an image. */
  imageDigest: string | undefined;
  diskSizeGb: number;
}

/** Mounted templates under `<home>/templates/<shape key>/mounted/<key>/`, next to their shape's template. */
export class MountedTemplates {
  constructor(private readonly shapes: TemplateStore, private readonly driver: VmmDriver) {}

  /** The directory of the mounted template of `config` and `key` (undefined: the base disk is gone). */
  async dirOf(config: VmConfig, key: MountedKey): Promise<string | undefined> {
    const st = fs.statSync(key.baseDisk, { throwIfNoEntry: false });
    if (!st) return undefined;
    const base = key.imageDigest ?? `${st.dev}-${st.ino}-${st.size}-${Math.round(st.mtimeMs)}`;
    const name = `${base.replace(/[^a-zA-Z0-9-]/g, '-').slice(0, 80)}-${key.diskSizeGb}g`;
    return path.join(this.shapes.root, await this.shapes.key(config), 'mounted', name);
  }

  /** The mounted template in `dir`, if complete and sound; a damaged one is deleted (and counted as a failure). */
  async find(dir: string, memoryMib: number): Promise<MountedTemplate | undefined> {
    if (isBackingOff(readFailures(failuresDir(dir)))) return undefined; // its restores keep timing out: boot without it for a while
    const t = { dir, statePath: path.join(dir, 'state'), ramPath: path.join(dir, 'ram'), upperPath: path.join(dir, 'upper.ext4') };
    let record: MountedRecord;
    try {
      record = JSON.parse(await fs.promises.readFile(path.join(dir, 'record.json'), 'utf8')) as MountedRecord;
    } catch {
      return undefined;
    }
    const stateSize = fs.statSync(t.statePath, { throwIfNoEntry: false })?.size;
    const damage = record.format !== MOUNTED_FORMAT || record.memoryMib !== memoryMib ? 'of another format or shape'
      : stateSize !== record.state.bytes ? `its state is ${String(stateSize)} bytes, not ${record.state.bytes}`
        : !fs.existsSync(t.upperPath) ? 'its disk is missing' : ramDamage(t.ramPath, memoryMib);
    if (damage) {
      await this.discard(t, `the mounted template ${dir} is damaged: ${damage}`);
      return undefined;
    }
    const now = new Date();
    await fs.promises.utimes(path.join(dir, 'record.json'), now, now).catch(() => undefined); // when it was last used
    return t;
  }

  /** Deletes a mounted template that failed to restore; its root filesystem gets a new one at a later start. */
  async discard(t: { dir: string }, reason: string): Promise<void> {
    await fs.promises.rm(t.dir, { recursive: true, force: true });
    recordFailure(failuresDir(t.dir), reason);
  }

  /**
   * Notes a restore that ran out of time: a busy host, not a damaged template, so its files stay. One whose
   * restores keep timing out is left unused for a while, as a failing one is not made again.
   */
  restoreTimedOut(t: { dir: string }, reason: string): void {
    recordFailure(failuresDir(t.dir), reason);
  }

  /** Notes that a mounted template restored fine: its earlier failures are forgotten. */
  restoredFine(t: { dir: string }): void {
    fs.rmSync(failuresDir(t.dir), { recursive: true, force: true });
  }

  /** True when a template for `dir` may be made now: none exists, none is being made, no recent failures. */
  async wanted(dir: string): Promise<boolean> {
    if (fs.existsSync(path.join(dir, 'record.json')) || await lockHeld(`${dir}.lock`)) return false;
    return !isBackingOff(readFailures(failuresDir(dir)));
  }

  /**
   * Saves a box that has just mounted (before any command of its user ran) as the mounted template in `dir`: the
   * VM stops for its disk copy and state (then runs on), and the state is made into a shared RAM file. A failure
   * is recorded, never the box's: it runs on as it was.
   */
  async save(dir: string, session: Pick<BoxSession, 'portal' | 'vm' | 'stopRequested'>, guest: GuestArtifacts, homeDir: string,
    vm: { controlSocketPath: string; upperDisk: string; uid: number | undefined; networkDevice: boolean; shape: { cpus: number; memoryMib: number; accelerator?: 'auto' | 'kvm' | 'tcg' } }): Promise<void> {
    const tmp = `${dir}.tmp`;
    try {
      await fs.promises.mkdir(path.dirname(dir), { recursive: true, mode: 0o711 });
      await withFileLock(`${dir}.lock`, async () => {
        if (fs.existsSync(path.join(dir, 'record.json'))) return;
        await fs.promises.rm(tmp, { recursive: true, force: true });
        await fs.promises.mkdir(tmp, { mode: 0o711 }); // passable by the boxes' uids: a VM without a chroot opens the RAM file in place
        await warmUp(session.portal);
        const stream = path.join(tmp, 'stream');
        await saveSession(this.driver, session, stream, {
          uid: vm.uid, keepRunning: true, shape: vm.shape, controlSocketPath: vm.controlSocketPath, networkDevice: vm.networkDevice,
          whileStopped: () => copyDisk(vm.upperDisk, path.join(tmp, 'upper.ext4')),
        });
        const state = await shareRam(this.driver, guest, homeDir, {
          shape: vm.shape, networkDevice: vm.networkDevice, streamPath: stream, statePath: path.join(tmp, 'state'), ramPath: path.join(tmp, 'ram'),
        });
        await fs.promises.rm(stream, { force: true });
        await fs.promises.chmod(path.join(tmp, 'upper.ext4'), 0o400);
        await fs.promises.writeFile(path.join(tmp, 'record.json'), JSON.stringify({ format: MOUNTED_FORMAT, state, memoryMib: vm.shape.memoryMib } satisfies MountedRecord));
        await fs.promises.rm(dir, { recursive: true, force: true });
        await fs.promises.rename(tmp, dir);
      });
      await pruneLeastUsed(path.dirname(dir));
    } catch (err) {
      await fs.promises.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      recordFailure(failuresDir(dir), `saving the mounted template failed: ${messageOf(err)}`);
    }
  }
}

// Deletes the least recently used mounted templates of a shape beyond MAX_PER_SHAPE (none being made or used now:
// a box that maps a deleted RAM file keeps its pages, the file goes when the last box ends).
async function pruneLeastUsed(shapeDir: string): Promise<void> {
  const used: { dir: string; atMs: number }[] = [];
  for (const name of await fs.promises.readdir(shapeDir).catch(() => [] as string[])) {
    const dir = path.join(shapeDir, name);
    const st = await fs.promises.stat(path.join(dir, 'record.json')).catch(() => undefined);
    if (st) used.push({ dir, atMs: st.mtimeMs });
  }
  used.sort((a, b) => b.atMs - a.atMs);
  for (const { dir } of used.slice(MAX_PER_SHAPE)) {
    if (await lockHeld(`${dir}.lock`)) continue;
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

// Failures are kept beside the template (whose directory a failure deletes).
const failuresDir = (dir: string): string => `${dir}.failures`;
