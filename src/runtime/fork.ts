// fork(): new boxes that continue from a box's running state, sharing its saved RAM copy-on-write, each its own disk.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { BoxliteError, boxliteError, messageOf } from '../errors.js';
import type { BoxRecord, BoxStore } from '../state/box-store.js';
import { BoxPaths } from './box-paths.js';
import { writableDiskOf } from './disk-layers.js';
import { convertDisk } from '../vmm/qemu/img.js';
import { BoxID, ContainerID } from './ids.js';
import type { BoxLifecycle } from './lifecycle.js';
import { validateBoxName, type ResolvedBoxOptions } from './options.js';
import { shareRam } from './fork-ram.js';
import { SavedVmFiles, type SavedVmRecord } from './saved-vm.js';
import type { ForkOptions } from './call-options.js';

const run = promisify(execFile);
/** The most boxes one fork() makes. */
export const MAX_FORKS = 16;


/** What fork() needs of its runtime. */
export interface ForkServices {
  store: BoxStore;
  lifecycle: BoxLifecycle;
  homeDir: string;
}

/**
 * Forks box `sourceId`: its running state is saved (it keeps running) or its paused state used, made into a RAM
 * file every fork maps copy-on-write, and `count` new boxes are made from it, each with a copy of its disk, its own
 * id, hostname, published host ports and fresh entropy, and resumed. Returns their ids. On failure no fork is left.
 */
export async function forkBox(svc: ForkServices, sourceId: string, opts: ForkOptions = {}): Promise<string[]> {
  const { count, names } = checkForkOptions(opts);
  for (const n of names) if (svc.store.find(n)) throw boxliteError('AlreadyExists', `cannot fork box ${sourceId} as ${JSON.stringify(n)}: a box of that name exists; pick another name`);
  const staging = path.join(svc.homeDir, 'forks', `${Date.now().toString(36)}-${BoxID.generate().asStr().slice(0, 8)}`);
  await fs.promises.mkdir(staging, { recursive: true, mode: 0o700 });
  const made: string[] = [];
  try {
    const captured = await svc.lifecycle.capture(sourceId, staging, copyWritableDisk);
    let statePath = captured.statePath;
    let ramPath = captured.ramPath;
    let state = captured.record.state;
    if (!ramPath) {
      // The state holds the RAM: put it in a file of its own, shared by every fork.
      statePath = path.join(staging, 'state');
      ramPath = path.join(staging, 'ram');
      state = await shareRam(svc.lifecycle.driver, await svc.lifecycle.guest.artifacts(), svc.homeDir, {
        shape: captured.options, networkDevice: captured.record.networkDevice, streamPath: captured.statePath, statePath, ramPath,
      });
      await fs.promises.rm(captured.statePath, { force: true });
    }
    for (let i = 0; i < count; i++) {
      const id = BoxID.generate().asStr();
      made.push(id);
      await makeForkBox(svc, captured.rec, captured.options, id, names[i], {
        upper: captured.upperCopy, statePath, ramPath, last: i === count - 1,
        record: { ...captured.record, state, ramFile: true, hostname: id.slice(0, 12).toLowerCase(), savedAtMs: Date.now() },
      });
    }
    await Promise.all(made.map((id) => svc.lifecycle.start(id)));
    return made;
  } catch (err) {
    for (const id of made) await svc.lifecycle.remove(id, true).catch(() => undefined);
    throw BoxliteError.is(err) ? err : boxliteError('Engine', `forking box ${sourceId} failed: ${messageOf(err)}`, err);
  } finally {
    await fs.promises.rm(staging, { recursive: true, force: true });
  }
}

// A paused box made from the captured state: its row, its disk (the last one takes the copy itself), its saved VM
// (hard links to the shared state and RAM, so the page cache holds one copy).
async function makeForkBox(svc: ForkServices, source: BoxRecord, options: ResolvedBoxOptions, id: string, name: string | undefined,
  from: { upper: string; statePath: string; ramPath: string; last: boolean; record: SavedVmRecord }): Promise<void> {
  // Host ports are the fork's own: each picks free ones at its start, whatever the source asked for.
  const forkOptions: ResolvedBoxOptions = { ...options, ...(options.ports ? { ports: options.ports.map((p) => ({ ...p, hostPort: 0 })) } : {}) };
  const now = Date.now();
  const network = source.networkJson ? { egress: (JSON.parse(source.networkJson) as { egress?: unknown }).egress } : undefined;
  svc.store.insert({
    id, name, status: 'paused', optionsJson: JSON.stringify(forkOptions), image: source.image, cpus: source.cpus, memoryMib: source.memoryMib,
    labels: source.labels, createdAt: now, lastUpdated: now, vmm: undefined, bootId: undefined, containerId: ContainerID.generate().asStr(),
    accelerator: undefined, lastError: undefined, detach: source.detach, autoRemove: source.autoRemove, owner: undefined, lockOwner: undefined,
    timingsJson: undefined, imageDigest: source.imageDigest, imageConfigJson: source.imageConfigJson, portsJson: JSON.stringify([]),
    jailJson: undefined, networkJson: network && JSON.stringify(network), commandsRun: 0, runErrors: 0, bytesSent: 0, bytesReceived: 0,
  });
  svc.store.bump('boxes_created');
  const paths = new BoxPaths(svc.homeDir, id);
  await fs.promises.mkdir(paths.dir, { recursive: true, mode: 0o700 });
  if (from.last) await fs.promises.rename(from.upper, paths.upperDisk);
  else await copyDisk(from.upper, paths.upperDisk);
  const sourceBase = new BoxPaths(svc.homeDir, source.id).baseDisk;
  if ('rootfsPath' in options.rootfs && fs.existsSync(sourceBase)) await fs.promises.link(sourceBase, paths.baseDisk);
  const files = new SavedVmFiles(paths.savedVm);
  await fs.promises.mkdir(files.dir, { mode: 0o700 });
  await fs.promises.link(from.statePath, files.statePath);
  await fs.promises.link(from.ramPath, files.ramPath);
  await files.commit(from.record);
}

/**
 * Copies a box's writable disk to the raw file `to`: a raw disk with `copyDisk`, an overlay with its snapshots' chain
 * flattened into one (holes kept either way).
 */
export async function copyWritableDisk(paths: BoxPaths, to: string): Promise<void> {
  const disk = await writableDiskOf(paths);
  if (!disk) throw boxliteError('Storage', `box ${paths.boxId} has no disk (${paths.upperDisk} is missing)`);
  if (disk.format === 'raw') await copyDisk(disk.path, to);
  else await convertDisk(disk, to, 'raw', { whileInUse: true }); // the source's QEMU, stopped, holds it
}

/** Copies a box's disk cheaply: blocks shared where the filesystem can (reflink), holes kept either way. */
export async function copyDisk(from: string, to: string): Promise<void> {
  try {
    await run('cp', ['--reflink=auto', '--sparse=always', '--', from, to]);
  } catch (err) {
    await fs.promises.rm(to, { force: true });
    const why = (err as { stderr?: string }).stderr?.trim() || messageOf(err);
    throw boxliteError(/No space/i.test(why) ? 'Storage' : 'Engine', `copying the disk ${from} to ${to} failed: ${why}`, err);
  }
}

function checkForkOptions(opts: ForkOptions): { count: number; names: string[] } {
  const names = opts.names ?? [];
  if (!Array.isArray(names)) throw boxliteError('InvalidArgument', `fork names must be an array of box names, got ${JSON.stringify(names)}`);
  const count = opts.count ?? Math.max(1, names.length);
  if (!Number.isInteger(count) || count < 1 || count > MAX_FORKS) throw boxliteError('InvalidArgument', `fork count must be an integer 1..${MAX_FORKS}, got ${JSON.stringify(count)}`);
  if (names.length > count) throw boxliteError('InvalidArgument', `fork got ${names.length} names for ${count} boxes; give at most one name per box`);
  for (const n of names) validateBoxName(n);
  if (new Set(names).size !== names.length) throw boxliteError('InvalidArgument', `fork names must differ from each other, got ${JSON.stringify(names)}`);
  return { count, names: [...names] };
}
