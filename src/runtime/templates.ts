// Booted-guest snapshots ("templates"), one per VM shape: a box restores one in a fraction of a cold boot.
//
// A template is made by booting a VM whose disks are empty placeholders (the agent touches no disk before MOUNT)
// and whose RAM is a file, waiting for the agent's handshake, and saving the paused VM's devices (not its RAM,
// which stays in the file: x-ignore-shared). The file is then made read-only for good. A box of the same shape
// (same argv but for file paths) starts QEMU with `restoreFrom`, its own disks, and the RAM file mapped
// copy-on-write: boxes of a shape share the template's untouched pages. MOUNT renews the clock, entropy and block
// cache that restored VMs share (docs/portal-protocol.md).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { messageOf } from '../errors.js';
import { PortalClient } from '../portal/client.js';
import { findExecutable } from '../setup/os-packages.js';
import { lockHeld, withFileLock } from '../util/file-lock.js';
import type { VmConfig } from '../vmm/config.js';
import type { VmmDriver } from '../vmm/driver.js';
import { buildQemuArgv } from '../vmm/qemu/argv.js';
import { QEMU_BINARY } from '../vmm/qemu/process.js';
import { networkSocketPath, removeNetworkSocketDir, startNetwork } from '../vmm/network/passt.js';
import { chooseAccelerator } from '../vmm/accel.js';
import { boxVmConfig, raceVmBoot } from './boot.js';
import { BoxPaths } from './box-paths.js';
import { GuestCache } from './guest-cache.js';
import { DEFAULT_CPUS, DEFAULT_MEMORY_MIB } from './options.js';
import { templateJail } from '../jailer/box-jail.js';

/** Bumped when the way templates are made changes, so old ones are not used. */
const TEMPLATE_FORMAT = 2;
/** Placeholder disks are sparse files of this size: larger than any real disk, so the guest never sees one shrink. */
const PLACEHOLDER_BYTES = 2 ** 40;
/** A template's state holds its devices only (the RAM is in its file): about 300 KB. */
export const DEVICE_STATE_MAX_BYTES = 64 * 1024 * 1024;
/** How long a template VM may take to boot to its handshake. */
const TEMPLATE_BOOT_MS = 60_000;
/** After this many failures (to make, or to restore) a shape boots cold for a while instead of trying again. */
const MAX_FAILURES = 2;
/** How long a shape that kept failing boots cold before its template is tried again. */
const FAILURE_BACKOFF_MS = 60 * 60_000;

/** What went wrong with a shape's template: `<dir>/failures.json`. */
interface Failures {
  count: number;
  reason: string;
  atMs: number;
}

/** A usable template. */
export interface Template {
  key: string;
  statePath: string;
  /** The guest RAM the state was saved with (write-once, read-only: boxes map it copy-on-write). */
  ramPath: string;
}

/** Templates under `<home>/templates/<key>/state`. Several processes may use and make them at once. */
export class TemplateStore {
  readonly root: string;

  /** `guest` gives the jailer and passt the template VMs run with (default: the default shared cache's). */
  constructor(homeDir: string, private readonly driver: VmmDriver, private readonly guest: GuestCache = new GuestCache()) {
    this.root = path.join(homeDir, 'templates');
  }

  /** The template key of `config`: its argv with file paths left out, and the identity of QEMU, kernel and initramfs. */
  async key(config: VmConfig): Promise<string> {
    const shape: VmConfig = {
      ...config, tscKhz: 1, controlSocketPath: undefined, restoreFrom: undefined, sandbox: undefined, memoryFile: { path: '/ram', shared: false },
      // Templates are made on raw placeholders and the guest reads no disk before MOUNT: a box's writable disk may be
      // a qcow2 chain (disk snapshots) and still restore its shape's template, so the format is no part of the key.
      disks: config.disks.map((d) => ({ name: d.name, readOnly: d.readOnly, path: `/${d.name}` })),
      portalSocketPaths: config.portalSocketPaths.map((_, n) => `/portal${n}`), consoleSocketPath: '/console',
      networkSocketPath: config.networkSocketPath && '/net',
    };
    const files = await this.inputsOf(config);
    return createHash('sha256').update(JSON.stringify({ format: TEMPLATE_FORMAT, argv: buildQemuArgv(shape), files })).digest('hex').slice(0, 32);
  }

  /**
   * The template for `config`'s shape, made first when there is none (one process makes it; the others wait for
   * it). Undefined, with the reason in `onUnusable`, when one cannot be made: the box then boots cold.
   */
  async ensure(config: VmConfig, onUnusable: (reason: string) => void): Promise<Template | undefined> {
    const key = await this.key(config);
    const dir = path.join(this.root, key);
    const statePath = path.join(dir, 'state');
    const ramPath = path.join(dir, 'ram');
    const failed = readFailures(dir);
    const backingOff = isBackingOff(failed)
      ? `this shape's snapshot failed ${failed.count} times (last: ${failed.reason}); booting cold until ${new Date(failed.atMs + FAILURE_BACKOFF_MS).toISOString()}`
      : undefined;
    if (fs.existsSync(statePath)) {
      const damage = ramDamage(ramPath, config.memoryMib);
      if (!damage) {
        if (!backingOff) return { key, statePath, ramPath };
        onUnusable(backingOff); // restores that kept timing out: kept, and tried again later
        return undefined;
      }
      await this.discard({ key, statePath, ramPath }, damage);
      onUnusable(`${damage}; it is made again at the next start`);
      return undefined;
    }
    if (backingOff) {
      onUnusable(backingOff);
      return undefined;
    }
    try {
      await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
      return await withFileLock(path.join(this.root, `${key}.lock`), async () => {
        if (!fs.existsSync(statePath)) await this.make(config, dir, statePath, ramPath);
        return { key, statePath, ramPath };
      });
    } catch (e) {
      recordFailure(dir, messageOf(e));
      onUnusable(messageOf(e));
      return undefined;
    }
  }

  /**
   * Deletes the templates made from another kernel, initramfs or QEMU than `current` (they can never be used
   * again) and any left from older template formats; returns how many and the bytes freed.
   */
  async pruneStale(current: { kernelPath: string; initrdPath: string }): Promise<{ removed: number; freedBytes: number }> {
    const want = JSON.stringify(await this.inputsOf(current));
    let removed = 0;
    let freedBytes = 0;
    for (const entry of await fs.promises.readdir(this.root, { withFileTypes: true }).catch(() => [])) {
      if (!entry.isDirectory()) continue;
      const dir = path.join(this.root, entry.name);
      const inputs = await fs.promises.readFile(path.join(dir, 'inputs.json'), 'utf8').then((t) => JSON.stringify((JSON.parse(t) as TemplateInputs).files), () => undefined);
      if (inputs === want || await lockHeld(`${dir}.lock`)) continue; // a live lock: it may be being made right now
      for (const f of ['state', 'ram']) freedBytes += await fs.promises.stat(path.join(dir, f)).then((s) => s.blocks * 512, () => 0);
      await fs.promises.rm(dir, { recursive: true, force: true });
      await fs.promises.rm(`${dir}.lock`, { force: true });
      removed++;
    }
    return { removed, freedBytes };
  }

  /** Notes that a template restored fine: earlier failures of its shape are forgotten. */
  restoredFine(template: Template): void {
    const record = path.join(this.root, template.key, 'failures.json');
    if (fs.existsSync(record)) fs.rmSync(record, { force: true });
  }

  /**
   * Notes a restore that ran out of time: a busy host, not a damaged template, so the files stay. A shape whose
   * restores keep timing out boots cold for a while, as one whose template keeps failing does.
   */
  restoreTimedOut(template: Template, reason: string): void {
    const dir = path.join(this.root, template.key);
    recordFailure(dir, reason);
  }

  /**
   * Deletes a template that failed to restore; the next start of that shape makes it again, unless that keeps
   * failing (then the shape boots cold for an hour).
   */
  async discard(template: Template, reason: string): Promise<void> {
    const dir = path.join(this.root, template.key);
    await fs.promises.rm(template.statePath, { force: true });
    await fs.promises.rm(template.ramPath, { force: true });
    recordFailure(dir, reason);
  }

  /** The identities of the files a template depends on: kernel, initramfs and the QEMU binary (found once). */
  private async inputsOf(c: { kernelPath: string; initrdPath: string }): Promise<string[]> {
    return [fileIdentity(c.kernelPath), fileIdentity(c.initrdPath), await qemuIdentity()];
  }

  // Boots a VM of config's shape on placeholder disks with its RAM in a file, waits for the agent, and saves its
  // devices to statePath; the RAM file becomes ramPath, owned by root and read-only. The VM is jailed as a standard
  // box is (templateJail), under a uid of its own.
  private async make(config: VmConfig, dir: string, statePath: string, ramPath: string): Promise<void> {
    const sockets = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'boxlite-template-'));
    const netSocket = config.networkSocketPath && networkSocketPath(`template-${path.basename(sockets)}`);
    const tmpState = `${statePath}.tmp`;
    const tmpRam = `${ramPath}.tmp`;
    const homeDir = path.dirname(this.root);
    const jail = templateJail(homeDir, path.basename(dir));
    const { launcherPath, passtPath } = await this.guest.artifacts();
    const own = async (p: string): Promise<void> => { if (jail?.uid !== undefined) await fs.promises.chown(p, jail.uid, jail.gid ?? jail.uid); };
    try {
      await own(sockets);
      // Passable (not listable) by the boxes' uids: a VM without a chroot opens the RAM file in place.
      for (const d of [this.root, dir]) await fs.promises.chmod(d, 0o711);
      await fs.promises.rm(tmpRam, { force: true });
      await fs.promises.writeFile(tmpRam, '', { mode: 0o600 });
      await fs.promises.truncate(tmpRam, config.memoryMib * 1024 * 1024);
      await own(tmpRam);
      const disks = await Promise.all(config.disks.map(async (d) => {
        const p = path.join(dir, `${d.name}.placeholder`);
        await fs.promises.writeFile(p, '');
        await fs.promises.truncate(p, PLACEHOLDER_BYTES);
        await own(p);
        return { name: d.name, readOnly: d.readOnly, path: p, format: 'raw' as const }; // placeholders are raw whatever the box's disk is
      }));
      const templateConfig: VmConfig = {
        ...config, disks, restoreFrom: undefined, sandbox: true, memoryFile: { path: tmpRam, shared: true },
        portalSocketPaths: config.portalSocketPaths.map((_, n) => path.join(sockets, `portal-${n}.sock`)),
        consoleSocketPath: path.join(sockets, 'console.sock'), controlSocketPath: path.join(sockets, 'qmp.sock'),
        ...(netSocket ? { networkSocketPath: netSocket } : {}),
      };
      const jailed = jail && { launcherPath, box: jail };
      const network = netSocket
        ? await startNetwork({ socketPath: netSocket, ports: [], detached: false, binary: passtPath, ...(jailed ? { jail: jailed } : {}) })
        : undefined;
      const vm = await this.driver.launch(templateConfig, { consoleLogPath: path.join(dir, 'console.log'), detached: false, ...(jailed ? { jail: jailed } : {}) })
        .catch((e: unknown) => { network?.kill(); throw e; });
      try {
        // A QEMU that exits (e.g. it cannot allocate the memory) fails the template at once, in QEMU's words.
        const gone = new AbortController();
        void vm.exited.then(() => gone.abort());
        await raceVmBoot((async () => {
          const portal = await PortalClient.connect(templateConfig.portalSocketPaths[0]!, 'template VM', Date.now() + TEMPLATE_BOOT_MS, gone.signal);
          try { await portal.handshake(); } finally { portal.close(); }
        })(), vm, 'the template VM', Date.now() + TEMPLATE_BOOT_MS);
        await fs.promises.rm(tmpState, { force: true });
        await this.driver.saveState(vm, { controlSocketPath: templateConfig.controlSocketPath, ramInSharedFile: true }, tmpState, { maxBytes: DEVICE_STATE_MAX_BYTES });
      } finally {
        await vm.kill();
        network?.kill();
      }
      // Write-once: from now on no process but root may change the RAM every box of this shape maps.
      await fs.promises.chown(tmpRam, 0, 0);
      await fs.promises.chmod(tmpRam, 0o444);
      await fs.promises.rename(tmpRam, ramPath);
      await fs.promises.rename(tmpState, statePath);
      await fs.promises.writeFile(path.join(dir, 'inputs.json'), JSON.stringify({ files: await this.inputsOf(config) } satisfies TemplateInputs));
    } finally {
      if (netSocket) await removeNetworkSocketDir(netSocket);
      await fs.promises.rm(tmpState, { force: true });
      await fs.promises.rm(tmpRam, { force: true });
      for (const d of config.disks) await fs.promises.rm(path.join(dir, `${d.name}.placeholder`), { force: true });
      await fs.promises.rm(sockets, { recursive: true, force: true });
      if (jail) for (const d of [jail.root, `${jail.root}.net`]) await fs.promises.rm(d, { recursive: true, force: true });
    }
  }
}

/** What a template was made from: `<dir>/inputs.json`. */
interface TemplateInputs {
  files: string[];
}


/** Why a template's RAM file cannot be used (missing, another size, writable by others), or undefined. */
export function ramDamage(ramPath: string, memoryMib: number): string | undefined {
  const st = fs.statSync(ramPath, { throwIfNoEntry: false });
  if (!st) return `the snapshot's memory file ${ramPath} is missing`;
  if (st.size !== memoryMib * 1024 * 1024) return `the snapshot's memory file ${ramPath} is damaged: ${st.size} bytes, not ${memoryMib} MiB`;
  if (process.getuid?.() === 0 && (st.uid !== 0 || (st.mode & 0o222) !== 0)) return `the snapshot's memory file ${ramPath} is writable (mode ${(st.mode & 0o777).toString(8)}, uid ${st.uid}): it must be root's and read-only`;
  return undefined;
}

export function readFailures(dir: string): Failures | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'failures.json'), 'utf8')) as Failures;
  } catch {
    return undefined;
  }
}

/** True when a template failed often and recently enough (MAX_FAILURES within FAILURE_BACKOFF_MS) to be left alone for now. */
export function isBackingOff(failed: Failures | undefined): failed is Failures {
  return failed !== undefined && failed.count >= MAX_FAILURES && Date.now() - failed.atMs < FAILURE_BACKOFF_MS;
}

/** Counts one more failure in `dir`'s record, with its reason. */
export function recordFailure(dir: string, reason: string): void {
  const count = (readFailures(dir)?.count ?? 0) + 1;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dir, 'failures.json'), JSON.stringify({ count, reason: reason.slice(0, 2000), atMs: Date.now() } satisfies Failures));
  } catch { /* best effort: without the record the next start just tries again */ }
}

/**
 * Makes (or finds) the snapshot for boxes of the default shape (the spec's 2 CPUs and 512 MiB), so that even the
 * first box a user creates starts from a snapshot. Returns whether it is usable, and why not.
 */
export async function ensureDefaultTemplate(homeDir: string, driver: VmmDriver, guest = new GuestCache()): Promise<{ ok: true; made: boolean } | { ok: false; reason: string }> {
  const paths = new BoxPaths(homeDir, 'default-shape'); // only its path names are used: template VMs get their own files
  const config = boxVmConfig({ cpus: DEFAULT_CPUS, memoryMib: DEFAULT_MEMORY_MIB }, chooseAccelerator('auto').accelerator, await guest.artifacts(), paths, paths.baseDisk);
  const store = new TemplateStore(homeDir, driver, guest);
  const existed = fs.existsSync(path.join(store.root, await store.key(config), 'state'));
  let reason = '';
  const template = await store.ensure(config, (why) => { reason = why; });
  return template ? { ok: true, made: !existed } : { ok: false, reason };
}

let qemuPath: Promise<string> | undefined;
/** The identity (path, size, mtime) of the QEMU binary in PATH, found once per process. */
async function qemuIdentity(): Promise<string> {
  qemuPath ??= findExecutable(QEMU_BINARY, (process.env.PATH ?? '/usr/bin').split(':').filter(Boolean)).then((p) => p ?? QEMU_BINARY);
  return fileIdentity(await qemuPath);
}

/** Path, size and mtime of a file: a new kernel, initramfs or QEMU makes new templates. */
function fileIdentity(p: string): string {
  try {
    const st = fs.statSync(p);
    return `${p}:${st.size}:${st.mtimeMs}`;
  } catch {
    return `${p}:missing`;
  }
}
