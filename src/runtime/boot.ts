// The start pipeline of a box: disks, VM launch, portal handshake, root mount; each stage timed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BoxliteError, boxliteError, messageOf } from '../errors.js';
import { PortalClient } from '../portal/client.js';
import { findGuestArtifacts } from '../setup/index.js';
import { chooseAccelerator, hostTscKhz, type AcceleratorChoice } from '../vmm/accel.js';
import type { RunningVm, VmExit, VmmDriver } from '../vmm/driver.js';
import { buildBaseDisk, buildUpperDisk } from './disks.js';
import type { ResolvedBoxOptions } from './options.js';

/** How long a guest may take from VMM spawn to the agent's handshake. */
export const BOOT_TIMEOUT_MS = 60_000;

/** Milliseconds spent in each stage of the start pipeline (the spec's six stages). */
export interface StageTimings {
  filesystemSetupMs: number;
  imagePrepareMs: number;
  guestRootfsMs: number;
  boxConfigMs: number;
  boxSpawnMs: number;
  containerInitMs: number;
}

/** A booted box: its VM, its portal session, and how it got there. */
export interface BootedBox {
  vm: RunningVm;
  portal: PortalClient;
  accelerator: AcceleratorChoice;
  timings: StageTimings;
  agentVersion: string;
}

/** What the pipeline needs to know about the box. */
export interface BootRequest {
  boxId: string;
  homeDir: string;
  boxDir: string;
  options: ResolvedBoxOptions;
  driver: VmmDriver;
}

/** Runs the start pipeline. On failure nothing keeps running and the error names the stage and the console tail. */
export async function bootBox(req: BootRequest): Promise<BootedBox> {
  const t = new StageClock();
  await fs.promises.mkdir(req.boxDir, { recursive: true, mode: 0o700 });
  const timings: Partial<StageTimings> = { filesystemSetupMs: t.lap() };

  const baseDisk = path.join(req.boxDir, 'base.ext4');
  const upperDisk = path.join(req.boxDir, 'upper.ext4');
  if (!fs.existsSync(baseDisk) && 'rootfsPath' in req.options.rootfs) await buildBaseDisk(req.options.rootfs.rootfsPath, baseDisk);
  timings.imagePrepareMs = t.lap();

  if (!fs.existsSync(upperDisk)) await buildUpperDisk(upperDisk, req.options.diskSizeGb);
  const guest = findGuestArtifacts(req.homeDir);
  timings.guestRootfsMs = t.lap();

  const accelerator = chooseAccelerator(req.options.accelerator);
  const portalSocketPath = socketPath(req.homeDir, req.boxDir, req.boxId);
  await fs.promises.rm(portalSocketPath, { force: true });
  const config = {
    cpus: req.options.cpus, memoryMib: req.options.memoryMib, accelerator: accelerator.accelerator,
    kernelPath: guest.kernelPath, initrdPath: guest.initrdPath, kernelArgs: [], portalSocketPath,
    tscKhz: hostTscKhz(),
    disks: [
      { name: 'base', path: baseDisk, readOnly: true },
      { name: 'upper', path: upperDisk, readOnly: false },
    ],
  };
  timings.boxConfigMs = t.lap();

  const vm = await req.driver.launch(config, path.join(req.boxDir, 'console.log'));
  timings.boxSpawnMs = t.lap();

  let portal: PortalClient | undefined;
  try {
    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    const booted = (async () => {
      portal = await PortalClient.connect(portalSocketPath, `box ${req.boxId}`, deadline);
      const { agentVersion } = await portal.handshake();
      await portal.request({
        kind: 'mount', lowerDevice: '/dev/vda', lowerFsType: 'ext4', upperDevice: '/dev/vdb', upperFsType: 'ext4',
        hostname: req.boxId.slice(0, 12).toLowerCase(),
      }, 'Engine');
      return agentVersion;
    })();
    const agentVersion = await raceBoot(booted, vm, req.boxId, deadline);
    timings.containerInitMs = t.lap();
    return { vm, portal: portal!, accelerator, timings: timings as StageTimings, agentVersion };
  } catch (err) {
    portal?.close();
    await vm.kill();
    throw err;
  }
}

// Waits for the boot to finish, failing early (with the console tail) if the VM exits or the deadline passes.
async function raceBoot<T>(booted: Promise<T>, vm: RunningVm, boxId: string, deadlineMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(boxliteError('Engine',
      `box ${boxId} did not finish booting within ${BOOT_TIMEOUT_MS / 1000} s; last console lines:\n${vm.consoleTail()}`)), deadlineMs - Date.now());
  });
  const died = vm.exited.then((exit) => { throw bootFailure(boxId, exit, vm); });
  try {
    return await Promise.race([booted, timeout, died]);
  } catch (err) {
    if (BoxliteError.is(err) && err.code === 'Engine') throw err;
    if (vm.hasExited) throw bootFailure(boxId, await vm.exited, vm);
    throw boxliteError(BoxliteError.is(err) ? err.code : 'Engine', `box ${boxId} failed to start: ${messageOf(err)}\nlast console lines:\n${vm.consoleTail()}`, err);
  } finally {
    clearTimeout(timer);
    died.catch(() => undefined);
  }
}

/** The error for a VM that exited while booting. */
export function bootFailure(boxId: string, exit: VmExit, vm: RunningVm): BoxliteError {
  return boxliteError('Engine', `box ${boxId} failed to boot: the VM exited (${describeExit(exit)})`
    + `${exit.stderr ? `; QEMU said: ${exit.stderr}` : ''}\nlast console lines (full log: ${vm.consoleLogPath}):\n${vm.consoleTail()}`);
}

/** "code 1" / "signal SIGKILL" for messages. */
export function describeExit(exit: VmExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

// Unix socket paths are limited to 107 bytes; long home dirs get a short path under the temp dir.
function socketPath(homeDir: string, boxDir: string, boxId: string): string {
  const inBox = path.join(boxDir, 'portal.sock');
  if (Buffer.byteLength(inBox) <= 100) return inBox;
  const dir = path.join(os.tmpdir(), `boxlite-${crypto.createHash('sha256').update(homeDir).digest('hex').slice(0, 12)}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return path.join(dir, `${boxId}.sock`);
}

class StageClock {
  private last = performance.now();
  lap(): number {
    const now = performance.now();
    const ms = now - this.last;
    this.last = now;
    return Math.round(ms * 10) / 10;
  }
}
