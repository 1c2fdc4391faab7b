// A saved VM whose RAM is in its state, turned into devices-only state + a write-once RAM file that forks share.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { templateJail } from '../jailer/box-jail.js';
import type { GuestArtifacts } from '../setup/manifest.js';
import { chooseAccelerator } from '../vmm/accel.js';
import type { VmConfig } from '../vmm/config.js';
import type { SavedStream, VmmDriver } from '../vmm/driver.js';
import { boxVmConfig } from './boot.js';
import { BoxPaths } from './box-paths.js';
import { DEVICE_STATE_MAX_BYTES } from './templates.js';

/** Placeholder disks: the VM never runs, so their content is never read. */
const PLACEHOLDER_BYTES = 2 ** 40;

/** What a shared-RAM conversion needs: the saved VM's shape and whether it has a network device. */
export interface SharedRamInput {
  shape: { cpus: number; memoryMib: number; accelerator?: 'auto' | 'kvm' | 'tcg' };
  networkDevice: boolean;
  /** The state with RAM (from a running box's save). */
  streamPath: string;
  /** Where the devices-only state and the RAM file go. */
  statePath: string;
  ramPath: string;
}

/**
 * Loads `streamPath` into a VM that never runs (`-S`), its RAM a fresh file, and saves its devices again with
 * x-ignore-shared: the RAM stays in `ramPath` (then root's and read-only), which every fork maps copy-on-write, so
 * the pages they do not write are shared. The VM is jailed as a template VM is: the state comes from a guest.
 */
export async function shareRam(driver: VmmDriver, guest: GuestArtifacts, homeDir: string, input: SharedRamInput): Promise<SavedStream> {
  const work = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'boxlite-fork-'));
  const jail = templateJail(homeDir, `fork-${path.basename(work)}`);
  const own = async (p: string): Promise<void> => { if (jail?.uid !== undefined) await fs.promises.chown(p, jail.uid, jail.gid ?? jail.uid); };
  const tmpRam = `${input.ramPath}.tmp`;
  let listener: net.Server | undefined;
  try {
    await own(work);
    const paths = new BoxPaths(homeDir, 'fork-conversion'); // only its names: the files below are the VM's own
    const base = boxVmConfig(input.shape, chooseAccelerator(input.shape.accelerator ?? 'auto').accelerator, guest, paths, paths.baseDisk);
    const disks = await Promise.all(base.disks.map(async (d) => {
      const p = path.join(work, `${d.name}.placeholder`);
      await fs.promises.writeFile(p, '');
      await fs.promises.truncate(p, PLACEHOLDER_BYTES);
      await own(p);
      return { ...d, path: p };
    }));
    await fs.promises.writeFile(tmpRam, '', { mode: 0o600 });
    await fs.promises.truncate(tmpRam, input.shape.memoryMib * 1024 * 1024);
    await own(tmpRam);
    // The NIC connects at start; nothing is ever sent, so a socket that only listens stands in for passt.
    const netSocket = input.networkDevice ? path.join(work, 'net.sock') : undefined;
    if (netSocket) {
      listener = net.createServer((c) => c.on('error', () => undefined));
      await new Promise<void>((resolve, reject) => { listener!.once('error', reject); listener!.listen(netSocket, resolve); });
      await own(netSocket);
    }
    const config: VmConfig = {
      ...base, disks, sandbox: true, startPaused: true, restoreFrom: input.streamPath,
      memoryFile: { path: tmpRam, shared: true },
      portalSocketPaths: base.portalSocketPaths.map((_, n) => path.join(work, `portal-${n}.sock`)),
      consoleSocketPath: path.join(work, 'console.sock'), controlSocketPath: path.join(work, 'qmp.sock'),
      ...(netSocket ? { networkSocketPath: netSocket } : { networkSocketPath: undefined }),
    };
    const jailed = jail && { launcherPath: guest.launcherPath, box: jail };
    const vm = await driver.launch(config, { consoleLogPath: path.join(work, 'console.log'), detached: false, ...(jailed ? { jail: jailed } : {}) });
    let saved: SavedStream;
    try {
      saved = await driver.saveState(vm, { controlSocketPath: config.controlSocketPath, ramInSharedFile: true }, input.statePath, { maxBytes: DEVICE_STATE_MAX_BYTES });
    } finally {
      await vm.kill();
    }
    // Write-once: from now on no process but root may change the RAM the forks map.
    await fs.promises.chown(tmpRam, 0, 0);
    await fs.promises.chmod(tmpRam, 0o444);
    await fs.promises.rename(tmpRam, input.ramPath);
    return saved;
  } finally {
    listener?.close();
    await fs.promises.rm(tmpRam, { force: true });
    await fs.promises.rm(work, { recursive: true, force: true });
    if (jail) for (const d of [jail.root, `${jail.root}.net`]) await fs.promises.rm(d, { recursive: true, force: true });
  }
}
