// The start pipeline of a box: disks, VM launch, portal handshake, root mount; each stage timed.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { BoxliteError, boxliteError, messageOf } from '../errors.js';
import { PortalClient } from '../portal/client.js';
import { DeadlinePassed } from '../portal/deadlines.js';
import type { GuestArtifacts } from '../setup/manifest.js';
import { chooseAccelerator, hostTscKhz, type AcceleratorChoice } from '../vmm/accel.js';
import type { Accelerator, VmConfig } from '../vmm/config.js';
import type { RunningVm, VmExit, VmmDriver } from '../vmm/driver.js';
import type { HelperProcess } from '../vmm/helper-process.js';
import type { BoxProcess } from '../state/box-processes.js';
import type { BoxPaths } from './box-paths.js';
import { buildUpperDisk } from './disks.js';
import { writableDiskOf, type WritableDisk } from './disk-layers.js';
import type { GuestCache } from './guest-cache.js';
import { provideRootfsDisk } from './rootfs-disk.js';
import type { TemplateStore } from './templates.js';
import { ramShimPath } from '../setup/launcher-build.js';
import { assignHostPorts } from './ports.js';
import { startNetwork, type PortForward } from '../vmm/network/passt.js';
import { startVolume } from '../vmm/volumes/virtiofsd.js';
import { orTimeout } from '../util/timeout.js';
import type { ResolvedVolume } from './volumes.js';
import type { ResolvedBoxOptions } from './options.js';
import type { BoxJail } from '../jailer/plan.js';
import { checkReachableWithoutJail } from '../jailer/box-jail.js';
import { enforceEgress } from './box-network.js';
import { dnsListenAddress, needsForwarder, startDnsForwarder, writeForwarderRules } from '../vmm/network/dns.js';
import { policyTable } from '../vmm/network/nftables.js';
import type { ResolvedEgress } from '../vmm/network/policy.js';
import type { StageTimings, StartBreakdown, StartMode } from './stage-timings.js';
import type { GuestKernel } from '../setup/kernel-flavor.js';
import type { SavedVm } from './saved-vm.js';
import { MountedTemplates } from './mounted-templates.js';
import { copyDisk } from './fork.js';

/** How long a guest may take from VMM spawn to the agent's handshake. */
export const BOOT_TIMEOUT_MS = 60_000;
/** Where a start failed: launching QEMU, waiting for the agent, or mounting the box's disks. */
type BootPhase = 'launch' | 'handshake' | 'mount';
/** The phase each start failure happened in (errors of launchAndMount). */
const failedPhase = new WeakMap<object, BootPhase>();
const markPhase = (err: unknown, phase: BootPhase): void => { if (typeof err === 'object' && err !== null) failedPhase.set(err, phase); };

/** How long a failed boot waits for QEMU's exit to be seen, so the error carries QEMU's words rather than ECONNRESET. */
const EXIT_SETTLE_MS = 2000;
/** How long a VM restored from a template may take to answer and mount, before the box boots cold instead. */
const RESTORE_TIMEOUT_MS = 15_000;

export type { StageTimings, StartMode } from './stage-timings.js';

/** What an image box runs with: the image's digest and process defaults. */
export interface ImageRootfs {
  baseDiskPath: string;
  digest: string;
  config: { env: [string, string][]; workingDir?: string; user?: string; entrypoint?: string[]; cmd?: string[] };
}

/** A booted box: its VM, the launcher's portal session (on `port`), and how it got there. */
export interface BootedBox {
  vm: RunningVm;
  startMode: StartMode;
  /** The published ports, with the host ports actually bound. */
  ports: PortForward[];
  /** For image boxes, the image it booted from. */
  image: ImageRootfs | undefined;
  portal: PortalClient;
  /** The VM's helper processes (network, volumes), to watch while it runs. */
  helpers: BoxHelper[];
  accelerator: AcceleratorChoice;
  /** The guest kernel it booted (a restored box: the one its template booted, the same file). */
  kernel: GuestKernel;
  timings: StageTimings;
  agentVersion: string;
}

/** One running helper of a box: its kind (as recorded, see BoxProcess) and process. */
export interface BoxHelper {
  kind: string;
  process: HelperProcess;
}

/** What the pipeline needs to know about the box. */
export interface BootRequest {
  boxId: string;
  homeDir: string;
  paths: BoxPaths;
  options: ResolvedBoxOptions;
  driver: VmmDriver;
  /** The portal port this process claimed. */
  port: number;
  /** Pulls (if needed) and converts an image into its shared read-only base disk. */
  prepareImage(ref: string): Promise<ImageRootfs>;
  /** Templates to restore from; undefined boots every box cold. */
  templates: TemplateStore | undefined;
  /** Called as soon as each of the box's processes (VM, helpers) exists, to record it. */
  onProcess(p: BoxProcess): void;
  /** The box's jail (its security options' jailer); undefined runs its processes unconfined (development). */
  jail: BoxJail | undefined;
  /** QEMU's own seccomp filter (security.seccompEnabled). */
  sandbox: boolean;
  /** The network policy to start with, and the uid the box's passt runs as (its table matches it). */
  network: { egress: ResolvedEgress; uid: number | undefined };
  /** The shared guest artifacts (built on first use) and the runtime's progress listener. */
  guest: GuestCache;
  /**
   * Resume this saved VM (a paused box, or a fork) instead of booting: no template, no MOUNT (the box is mounted),
   * and the ports it had bound are bound again.
   */
  resume?: { saved: SavedVm; ports: PortForward[] };
}

/**
 * The VM of a box: its shape, the guest kernel, the box's sockets, the base disk and the box's writable disk (`upper`:
 * raw, or a qcow2 overlay on its snapshots' layers; default the raw file of `paths`).
 */
export function boxVmConfig(shape: { cpus: number; memoryMib: number; volumes?: readonly ResolvedVolume[] }, accelerator: Accelerator, guest: { kernelPath: string; initrdPath: string }, paths: BoxPaths, baseDisk: string, upper?: WritableDisk): VmConfig {
  return {
    ...(shape.volumes?.length ? { volumes: shape.volumes.map((v) => ({ tag: v.tag, socketPath: paths.volumeSocket(v.tag) })) } : {}),
    cpus: shape.cpus, memoryMib: shape.memoryMib, accelerator,
    kernelPath: guest.kernelPath, initrdPath: guest.initrdPath, kernelArgs: [], tscKhz: hostTscKhz(),
    portalSocketPaths: paths.portalSockets, consoleSocketPath: paths.consoleSocket, networkSocketPath: paths.networkSocket,
    disks: [
      { name: 'base', path: baseDisk, readOnly: true },
      upper ? { name: 'upper', path: upper.path, readOnly: false, format: upper.format, ...(upper.backingFiles.length ? { backingFiles: upper.backingFiles } : {}) }
        : { name: 'upper', path: paths.upperDisk, readOnly: false },
    ],
  };
}

/** Runs the start pipeline. On failure nothing keeps running and the error names the stage and the console tail. */
export async function bootBox(req: BootRequest): Promise<BootedBox> {
  const t = new StageClock();
  const { paths } = req;
  await paths.create(req.jail?.uid, Boolean(req.options.volumes?.length));
  const timings: Partial<StageTimings> = { filesystemSetupMs: t.lap() };

  // A rootfs directory's base disk is linked into the box at its first start from the disk cached for the tree's
  // content (built when the tree is new or changed); an image's base disk is shared by all its boxes.
  const rootfs = req.options.rootfs;
  let image: ImageRootfs | undefined;
  if ('image' in rootfs) image = await req.prepareImage(rootfs.image);
  else if (!fs.existsSync(paths.baseDisk)) await provideRootfsDisk(req.homeDir, rootfs.rootfsPath, paths.baseDisk, req.guest.onProgress);
  const baseDisk = image?.baseDiskPath ?? paths.baseDisk;
  timings.imagePrepareMs = t.lap();

  const guest = await req.guest.artifacts();
  const kernel: GuestKernel = { version: guest.kernelVersion, flavor: guest.kernelFlavor };
  const accelerator = chooseAccelerator(req.options.accelerator);
  const noNetwork = req.network.egress.mode === 'none';
  const existing = await writableDiskOf(paths);
  if (req.resume && !existing) {
    throw boxliteError('Storage', `box ${req.boxId} is paused, but its disk (${paths.upperDisk} or ${paths.overlayUpperDisk}) is missing; it cannot be resumed: stop or remove the box`);
  }
  const upper: WritableDisk = existing ?? { path: paths.upperDisk, format: 'raw', backingFiles: [] };
  // Every box has a control socket: pause() and fork() save its VM over it.
  const config: VmConfig = {
    ...boxVmConfig(req.options, accelerator.accelerator, guest, paths, baseDisk, upper), sandbox: req.sandbox, controlSocketPath: paths.controlSocket,
    ...(noNetwork ? { networkSocketPath: undefined } : {}),
  };
  // A box's first start may begin mounted: from the template of its shape and root filesystem, its disk a copy.
  const freshUpper = existing === undefined;
  const mounted = freshUpper && req.templates && !config.volumes && !req.resume ? new MountedTemplates(req.templates, req.driver) : undefined;
  const mountedDir = mounted && await mounted.dirOf(config, { baseDisk, imageDigest: image?.digest, diskSizeGb: req.options.diskSizeGb });
  const mountedTemplate = mountedDir ? await mounted!.find(mountedDir, config.memoryMib) : undefined;
  const sharedBase = image !== undefined || fs.statSync(baseDisk).nlink > 1;
  const makeUpper = async (from: string | undefined): Promise<void> => {
    if (from) await copyDisk(from, paths.upperDisk);
    else if (freshUpper && !fs.existsSync(paths.upperDisk)) await buildUpperDisk(paths.upperDisk, req.options.diskSizeGb);
    // A base disk linked from the cache (more than one name) is shared: it is never given to one box's uid.
    if (req.jail?.uid !== undefined) giveDisks(req.jail, upper.path, baseDisk, sharedBase);
    else if (from) await fs.promises.chmod(paths.upperDisk, 0o600);
  };
  await makeUpper(mountedTemplate?.upperPath);
  timings.guestRootfsMs = t.lap();
  if (req.jail) checkReachableWithoutJail(req.jail, [config.kernelPath, config.initrdPath, ...config.disks.flatMap((d) => [d.path, ...d.backingFiles ?? []]), config.consoleSocketPath]);
  const ports = req.resume?.ports ?? await assignHostPorts(req.options.ports ?? []);
  if (req.resume) {
    const { saved } = req.resume;
    if (saved.record.networkDevice === noNetwork) {
      throw boxliteError('InvalidState', `box ${req.boxId} was paused ${noNetwork ? 'with' : 'without'} a network device, but its policy is now egress ${noNetwork ? '"none"' : 'with a network'}: set the policy back to resume it, or stop it`);
    }
    const resuming: VmConfig = {
      ...config, restoreFrom: saved.statePath,
      ...(saved.ramPath ? { memoryFile: { path: saved.ramPath, shared: false, readOnlyShim: ramShimPath(guest.launcherPath) } } : {}),
    };
    timings.boxConfigMs = t.lap();
    const started = await launchAndMount(req, resuming, guest, ports, t, timings, BOOT_TIMEOUT_MS, { hostname: saved.record.hostname ?? '' });
    return { ...started, image, accelerator, kernel, ports, startMode: { restored: true, resumed: true }, timings: timings as StageTimings };
  }
  if (mountedTemplate) {
    try {
      const restoring: VmConfig = {
        ...config, restoreFrom: mountedTemplate.statePath,
        memoryFile: { path: mountedTemplate.ramPath, shared: false, readOnlyShim: ramShimPath(guest.launcherPath) },
      };
      timings.boxConfigMs = t.lap();
      const started = await launchAndMount(req, restoring, guest, ports, t, timings, RESTORE_TIMEOUT_MS, { hostname: boxHostname(req.boxId) });
      mounted!.restoredFine(mountedTemplate);
      return { ...started, image, accelerator, kernel, ports, startMode: { restored: true, afterMount: true }, timings: timings as StageTimings };
    } catch (err) {
      const phase = typeof err === 'object' && err !== null ? failedPhase.get(err) : undefined;
      if (phase === undefined) throw err; // not the template's fault (a taken port, a helper that would not start)
      // A restore that only ran out of time (a busy host) keeps the template; one QEMU or the guest refused drops it.
      const timedOut = BoxliteError.is(err) && err.cause instanceof DeadlinePassed;
      const reason = `restoring the mounted template ${mountedTemplate.dir} ${timedOut ? 'timed out' : 'failed'}: ${messageOf(err)}`;
      if (timedOut) mounted!.restoreTimedOut(mountedTemplate, reason);
      else await mounted!.discard(mountedTemplate, reason);
      // The copied disk was mounted by the template's VM: the box starts over on a disk of its own.
      await fs.promises.rm(paths.upperDisk, { force: true });
      await makeUpper(undefined);
      t.lap();
    }
  }
  const startMode: StartMode = { restored: false };
  // QEMU cannot save a VM with vhost-user devices, so boxes with volumes always boot.
  if (req.templates && config.volumes) startMode.coldReason = 'no template: a box with volumes cannot start from a snapshot';
  const templates = config.volumes ? undefined : req.templates;
  const template = await templates?.ensure(config, (why) => { startMode.coldReason = `no template: ${why}`; });
  timings.boxConfigMs = t.lap();

  if (templates && template) {
    try {
      // The template's RAM is mapped copy-on-write: only the devices' state is read, the pages come from the file.
      const restoring: VmConfig = {
        ...config, restoreFrom: template.statePath,
        memoryFile: { path: template.ramPath, shared: false, readOnlyShim: ramShimPath(guest.launcherPath) },
      };
      const started = await launchAndMount(req, restoring, guest, ports, t, timings, RESTORE_TIMEOUT_MS);
      templates.restoredFine(template);
      await saveMounted(started);
      return { ...started, image, accelerator, kernel, ports, startMode: { restored: true }, timings: timings as StageTimings };
    } catch (err) {
      // Only a VM that would not come up from the template blames it; a taken port or a bad disk is the box's own error.
      const phase = typeof err === 'object' && err !== null ? failedPhase.get(err) : undefined;
      if (phase !== 'launch' && phase !== 'handshake') throw err;
      // A template this QEMU cannot restore (or whose guest misbehaves) is dropped; the next start makes it again.
      // One that only ran out of time (a busy host) is kept: making it again would cost more than it saves.
      const timedOut = BoxliteError.is(err) && err.cause instanceof DeadlinePassed;
      startMode.coldReason = `restoring template ${template.key} ${timedOut ? 'timed out' : 'failed'}: ${messageOf(err)}`;
      if (timedOut) templates.restoreTimedOut(template, startMode.coldReason);
      else await templates.discard(template, startMode.coldReason);
      t.lap();
    }
  }
  const started = await launchAndMount(req, config, guest, ports, t, timings, BOOT_TIMEOUT_MS);
  await saveMounted(started);
  return { ...started, image, accelerator, kernel, ports, startMode, timings: timings as StageTimings };

  // The first box of a shape and root filesystem, just mounted, becomes their mounted template (once).
  async function saveMounted(started: { vm: RunningVm; portal: PortalClient }): Promise<void> {
    if (!mounted || !mountedDir || !await mounted.wanted(mountedDir)) return;
    await mounted.save(mountedDir, { portal: started.portal, vm: started.vm, stopRequested: false }, guest, req.homeDir, {
      controlSocketPath: paths.controlSocket, upperDisk: paths.upperDisk, uid: req.jail?.uid, networkDevice: !noNetwork,
      shape: { cpus: req.options.cpus, memoryMib: req.options.memoryMib, accelerator: req.options.accelerator },
    });
  }
}

/** The hostname a box's guest gets: its id's first 12 characters, lower case. */
function boxHostname(boxId: string): string {
  return boxId.slice(0, 12).toLowerCase();
}

/**
 * Starts the box's network, launches the VM, waits for the agent's handshake and mounts the box root; on failure
 * nothing keeps running.
 */
async function launchAndMount(req: BootRequest, config: VmConfig, guest: GuestArtifacts, ports: PortForward[], t: StageClock, timings: Partial<StageTimings>, timeoutMs: number, resumed?: { hostname: string }): Promise<{ vm: RunningVm; portal: PortalClient; agentVersion: string; helpers: BoxHelper[] }> {
  const { paths } = req;
  for (const s of [...paths.portalSockets, paths.consoleSocket, paths.controlSocket]) await fs.promises.rm(s, { force: true });
  await fs.promises.rm(paths.consoleLog, { force: true });
  const helpers: BoxHelper[] = [];
  const stopHelpers = (): void => { for (const h of helpers) h.process.kill(); };
  const recorder = (kind: string, marker: string) => (p: { pid: number; start: number }): void => req.onProcess({ kind, marker, ...p });
  let vm: RunningVm;
  const jail = req.jail && { launcherPath: guest.launcherPath, box: req.jail };
  const detail: StartBreakdown = { helpersMs: 0, vmmLaunchMs: 0, handshakeMs: 0, mountMs: 0 };
  let mark = performance.now();
  const since = (): number => { const now = performance.now(); const ms = round(now - mark); mark = now; return ms; };
  try {
    if (config.networkSocketPath) {
      // Domain rules: the box's lookups go through a forwarder of ours, which opens what they return.
      const table = policyTable(req.homeDir, req.boxId);
      const dns = needsForwarder(req.network.egress) ? dnsListenAddress(table) : undefined;
      if (dns) {
        writeForwarderRules(paths.dnsRules, table, req.network.egress);
        fs.writeFileSync(paths.dnsResolvConf, `nameserver ${dns}\n`, { mode: 0o644 });
      }
      // The forwarder, the policy and passt start together. passt sends only what the guest does, and the guest
      // runs only once QEMU starts, after all three: so the policy is in force before anything of the box leaves.
      const started = await Promise.allSettled([
        dns ? startDnsForwarder({ listen: dns, readyFile: paths.dnsReady, rulesFile: paths.dnsRules, detached: req.options.detach, onSpawn: recorder('dns', paths.dnsRules) }) : undefined,
        startNetwork({
          socketPath: paths.networkSocket, ports, detached: req.options.detach, binary: guest.passtPath, onSpawn: recorder('network', paths.networkSocket),
          ...(jail ? { jail } : {}), ...(req.network.uid !== undefined ? { uid: req.network.uid } : {}), ...(dns ? { resolvConf: paths.dnsResolvConf } : {}),
        }),
        enforceEgress(req.homeDir, req.boxId, req.network.uid, req.network.egress, dns),
      ]);
      const [forwarder, network, policy] = started;
      if (forwarder.status === 'fulfilled' && forwarder.value) helpers.push({ kind: 'dns', process: forwarder.value });
      if (network.status === 'fulfilled') helpers.push({ kind: 'network', process: network.value });
      const failed = [policy, forwarder, network].find((r) => r.status === 'rejected'); // a refused policy is what to fix first
      if (failed) throw failed.reason;
    }
    for (const v of req.options.volumes ?? []) {
      const socketPath = paths.volumeSocket(v.tag);
      helpers.push({ kind: `volume:${v.tag}`, process: await startVolume({ ...v, socketPath }, guest.launcherPath, req.options.detach, recorder(`volume:${v.tag}`, socketPath), req.jail) });
    }
  } catch (err) {
    stopHelpers();
    throw err;
  }
  detail.helpersMs = since();
  try {
    vm = await req.driver.launch(config, {
      consoleLogPath: paths.consoleLog, detached: req.options.detach, onSpawn: recorder('vmm', paths.dir),
      ...(jail ? { jail } : {}),
    });
  } catch (err) {
    stopHelpers();
    markPhase(err, 'launch');
    throw err;
  }
  timings.boxSpawnMs = t.lap();
  detail.vmmLaunchMs = since();
  let phase: BootPhase = 'handshake';

  let portal: PortalClient | undefined;
  try {
    const deadline = Date.now() + timeoutMs;
    const booted = (async () => {
      portal = await PortalClient.connect(paths.portalSocket(req.port), `box ${req.boxId}`, deadline);
      const hello = portal.handshake();
      // A resumed box is mounted already and its processes run on: only its clock and entropy are renewed. Its
      // agent is the one that saved it (saved.json and the template key name its version), so FRESHEN follows
      // HELLO at once, without a round trip between them.
      const freshened = resumed && portal.request({ kind: 'freshen', hostname: resumed.hostname, wallClockMs: Date.now(), seed: randomBytes(64) }, 'Engine', Math.max(1, deadline - Date.now()));
      if (freshened) freshened.catch(() => undefined); // awaited below, unless the handshake fails first
      const { agentVersion } = await hello;
      timings.guestBootMs = t.peek() + (timings.boxSpawnMs ?? 0);
      detail.handshakeMs = since();
      phase = 'mount';
      if (freshened) {
        await freshened;
        return agentVersion;
      }
      await portal.request({
        kind: 'mount', lowerDevice: '/dev/vda', lowerFsType: 'ext4', upperDevice: '/dev/vdb', upperFsType: 'ext4',
        hostname: boxHostname(req.boxId), wallClockMs: Date.now(), seed: randomBytes(64),
        volumes: (req.options.volumes ?? []).flatMap((v) => [v.tag, v.readOnly ? 'ro' : 'rw', v.guestPath]),
      }, 'Engine', Math.max(1, deadline - Date.now()));
      return agentVersion;
    })();
    const agentVersion = await raceVmBoot(booted, vm, `box ${req.boxId}`, deadline);
    timings.containerInitMs = t.lap();
    detail.mountMs = since();
    timings.breakdown = detail;
    timings.totalMs = t.total();
    return { vm, portal: portal!, agentVersion, helpers };
  } catch (err) {
    portal?.close();
    await vm.kill();
    stopHelpers();
    markPhase(err, phase);
    throw err;
  }
}

/**
 * Waits for `booted` (the agent's handshake, and more), failing early, with the console tail, when the VM exits or
 * `deadlineMs` (epoch ms) passes; a portal that breaks as QEMU exits fails with QEMU's exit and its own words.
 * `label` names the VM in messages ("box 01J...", "the template VM").
 */
export async function raceVmBoot<T>(booted: Promise<T>, vm: RunningVm, label: string, deadlineMs: number): Promise<T> {
  const startedMs = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const why = `${label} did not finish booting within ${Math.round((deadlineMs - startedMs) / 1000)} s`;
      reject(boxliteError('Engine', `${why}; last console lines (full log: ${vm.consoleLogPath}):\n${vm.consoleTail()}`, new DeadlinePassed(why)));
    }, deadlineMs - Date.now());
  });
  const died = vm.exited.then((exit) => { throw bootFailure(label, exit, vm); });
  try {
    return await Promise.race([booted, timeout, died]);
  } catch (err) {
    if (BoxliteError.is(err) && err.code === 'Engine') throw err;
    // A portal that broke (ECONNRESET, closed) is most often QEMU exiting: its exit, with its own words, wins.
    const exit = await orTimeout(vm.exited, EXIT_SETTLE_MS, undefined);
    if (exit) throw bootFailure(label, exit, vm);
    throw boxliteError(BoxliteError.is(err) ? err.code : 'Engine', `${label} failed to start: ${messageOf(err)}\nlast console lines:\n${vm.consoleTail()}`, err);
  } finally {
    clearTimeout(timer);
    died.catch(() => undefined);
  }
}

/** The error for a VM that exited while booting. */
export function bootFailure(label: string, exit: VmExit, vm: RunningVm): BoxliteError {
  return boxliteError('Engine', `${label} failed to boot: the VM exited (${describeExit(exit)})`
    + `${exit.stderr ? `; QEMU said: ${exit.stderr}` : ''}\nlast console lines (full log: ${vm.consoleLogPath}):\n${vm.consoleTail()}`);
}

/** "code 1" / "signal SIGKILL" / "it was no longer running" for messages. */
export function describeExit(exit: VmExit): string {
  if (exit.signal) return `signal ${exit.signal}`;
  return exit.code === null ? 'its process ended' : `code ${exit.code}`;
}

/**
 * Makes the box's disks usable by its jail's uid: its writable disk (and a base disk of its own) become that uid's;
 * an image's shared base disk, read-only in every jail, is made readable (its directory stays private). The layers
 * under a writable overlay are readable already (sealLayer: they may be shared with clones).
 */
function giveDisks(jail: BoxJail, upperDisk: string, baseDisk: string, sharedBase: boolean): void {
  const uid = jail.uid!;
  const gid = jail.gid ?? uid;
  fs.chownSync(upperDisk, uid, gid);
  fs.chmodSync(upperDisk, 0o600);
  if (sharedBase) {
    if ((fs.statSync(baseDisk).mode & 0o004) === 0) fs.chmodSync(baseDisk, 0o644);
  } else {
    fs.chownSync(baseDisk, uid, gid);
    fs.chmodSync(baseDisk, 0o400);
  }
}

class StageClock {
  private readonly start = performance.now();
  private last = this.start;
  lap(): number {
    const now = performance.now();
    const ms = round(now - this.last);
    this.last = now;
    return ms;
  }
  peek(): number { return round(performance.now() - this.last); }
  total(): number { return round(performance.now() - this.start); }
}

const round = (ms: number): number => Math.round(ms * 10) / 10;
