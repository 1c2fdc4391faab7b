// The box state machine across processes: start, attach, stop and remove under a per-box lock in the database.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { BoxliteError, boxliteError, messageOf } from '../errors.js';
import { PortalClient } from '../portal/client.js';
import { ProtocolViolation } from '../portal/codec.js';
import { endByMarkers, isRecordedProcess } from '../state/box-processes.js';
import type { BoxPatch, BoxRecord, BoxStore } from '../state/box-store.js';
import { currentBootId, isAlive, type ProcessIdentity } from '../state/process-identity.js';
import type { RunningVm, VmmDriver } from '../vmm/driver.js';
import { orTimeout } from '../util/timeout.js';
import { abortError, SharedAbort } from '../util/abort.js';
import { bootBox, BOOT_TIMEOUT_MS, describeExit, type ImageRootfs } from './boot.js';
import type { BoxStageTimings } from './stage-timings.js';
import { BoxPaths, PORTAL_PORTS } from './box-paths.js';
import { checkRoomToStart, type SparseDisk } from './disk-space.js';
import { currentUpper } from './disk-layers.js';
import { describeHelper, pollExit, type WatchedHelper } from './helper-watch.js';
import { securityOf, type ResolvedBoxOptions } from './options.js';
import { enforceEgress, networkStateOf, releaseEgress, type NetworkState } from './box-network.js';
import { claimJailUid, releaseJailUid } from '../jailer/uids.js';
import { egressPolicyOf, resolveEgress, type NetworkPolicy } from '../vmm/network/policy.js';
import { checkForwarderPossible, dnsListenAddress, needsForwarder, writeForwarderRules } from '../vmm/network/dns.js';
import { policyTable } from '../vmm/network/nftables.js';
import { prepareBoxJail, releaseBoxJail, releaseCgroup, type JailRecord } from '../jailer/box-jail.js';
import { chooseAccelerator } from '../vmm/accel.js';
import type { TemplateStore } from './templates.js';
import type { GuestCache } from './guest-cache.js';
import { SavedVmFiles, savedVmQemu, type SavedVmRecord } from './saved-vm.js';
import { saveSession } from './save-session.js';
import type { PortForward } from '../vmm/network/passt.js';

/** How long `stop()` waits for the guest to power off before killing the VM. */
export const STOP_GRACE_MS = 10_000;
/** How long a call waits for another process's start or stop of the same box. */
const LOCK_WAIT_MS = 2 * BOOT_TIMEOUT_MS + STOP_GRACE_MS;

/** This process's connection to a running box. */
export interface BoxSession {
  readonly boxId: string;
  readonly portal: PortalClient;
  readonly port: number;
  readonly vm: RunningVm;
  /** True when this process launched the VM (and it dies with this process unless detached). */
  readonly launched: boolean;
  /** The VM's helpers (network, volumes): one exiting while the VM runs fails the box. */
  readonly helpers: readonly WatchedHelper[];
  /** Aborted when this session ends (stops the polling of helpers another process spawned). */
  readonly ended: AbortController;
  stopRequested: boolean;
  /** True once a deliberate stop (`stop()`, a forced remove, closing the runtime) began: not a failure. */
  stoppedOnPurpose: boolean;
  /** The first helper seen to exit while the VM ran: a VM that dies after it died of it. */
  helperGone?: { kind: string; how: string; atMs: number };
}

/** How long before its VM's exit a helper must have exited to be what failed the box (not a witness of the VM's end). */
const HELPER_FIRST_MS = 50;

/**
 * Runs the lifecycle rules of the spec against the shared state database. Every transition takes the box's
 * lock (a row column holding pid + start time, taken over when its holder has died), re-reads the row, and
 * writes the new state in one statement, so several processes can drive boxes of one home dir at once.
 */
export class BoxLifecycle {
  private readonly sessions = new Map<string, BoxSession>();
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly startAborts = new Map<string, SharedAbort>();

  constructor(
    private readonly store: BoxStore,
    readonly driver: VmmDriver,
    private readonly homeDir: string,
    private readonly me: ProcessIdentity,
    private readonly prepareImage: (ref: string, signal?: AbortSignal) => Promise<ImageRootfs>,
    private readonly templates: TemplateStore | undefined,
    readonly guest: GuestCache,
  ) {}

  /** The paths of a box. */
  paths(boxId: string): BoxPaths {
    return new BoxPaths(this.homeDir, boxId);
  }

  /** This process's session with a box, if attached. */
  session(boxId: string): BoxSession | undefined {
    const s = this.sessions.get(boxId);
    return s && s.portal.isOpen ? s : undefined;
  }

  /**
   * The row of a box after checking that an active box's VM really runs (same boot, same pid and start time,
   * a QEMU of this box). A box whose VM vanished becomes Stopped, or is removed when it auto-removes.
   */
  reconcile(rec: BoxRecord | undefined): BoxRecord | undefined {
    if (!rec) return rec;
    if (rec.status !== 'running' && rec.status !== 'stopping') return this.reconcileIdle(rec);
    const stopperAlive = rec.lockOwner !== undefined && (rec.lockOwner.pid === this.me.pid || isAlive(rec.lockOwner));
    if (this.vmAlive(rec)) {
      if (rec.status === 'running') return this.sessions.has(rec.id) ? rec : this.checkHelpers(rec);
      if (stopperAlive || this.sessions.has(rec.id)) return rec; // a stop in progress
      // The process that was stopping it died mid-stop (its VM may still be dying with it): the stop is finished here.
      endByMarkers(this.paths(rec.id).processMarkers);
      this.markStopped(rec.id, {}, ['stopping']);
      if (rec.autoRemove) {
        this.removeFilesSync(rec.id);
        this.store.delete(rec.id);
        return undefined;
      }
      return this.store.get(rec.id);
    }
    if (rec.status === 'stopping' && rec.lockOwner && rec.lockOwner.pid !== this.me.pid && isAlive(rec.lockOwner)) return rec;
    const reason = rec.bootId !== currentBootId() ? 'the host rebooted while the box was running' : 'its VM was no longer running';
    this.markStopped(rec.id, { lastError: rec.lastError ?? reason }, [rec.status]); // ends the helpers of a VM that is gone
    if (rec.autoRemove) {
      this.removeFilesSync(rec.id);
      this.store.delete(rec.id);
      return undefined;
    }
    return this.store.get(rec.id);
  }

  // A box that is not active. A start or stop whose process died (the lock's holder is dead) may have left
  // processes (a detached box's helpers outlive it): they are ended, and an auto-remove box is removed.
  // The leftovers are ended under the box's lock: a start that another process began after `rec` was read records
  // its new processes, which must not be taken for leftovers.
  private reconcileIdle(rec: BoxRecord): BoxRecord | undefined {
    if (rec.lockOwner && isAlive(rec.lockOwner)) return rec; // a start or stop in progress
    // A paused box keeps its saved VM whatever happened to a resume that died: it is still there to resume.
    const abandoned = rec.autoRemove && rec.lockOwner !== undefined && rec.status !== 'paused';
    if (!abandoned && this.store.processes.of(rec.id).length === 0) return rec; // nothing to end: no lock taken on a plain read
    this.sweepIfIdle(rec.id, () => {
      if (this.store.processes.of(rec.id).length > 0) this.store.processes.endAll(rec.id);
      if (!abandoned) return;
      this.removeFilesSync(rec.id);
      this.store.delete(rec.id);
    });
    return this.store.get(rec.id);
  }

  // Deletes a box's files for recovery. A process of the box that was never recorded (its starter died right after
  // spawning it) would outlive the removal (a detached one), or create a socket while the directory is removed: the
  // processes naming the box's paths are ended first, and again before each retry; then it fails naming what is left.
  private removeFilesSync(boxId: string): void {
    const paths = this.paths(boxId);
    endByMarkers(paths.processMarkers);
    for (let attempt = 1; ; attempt++) {
      try {
        paths.removeSync();
        this.releaseAll(boxId);
        return;
      } catch (err) {
        if (attempt >= 3) {
          let left: string[] = [];
          try { left = fs.readdirSync(paths.dir); } catch { /* gone meanwhile */ }
          throw boxliteError('Storage', `could not remove the files of box ${boxId} in ${paths.dir} (left: ${left.join(', ') || 'nothing'}): ${messageOf(err)}; remove that directory by hand`, err);
        }
        endByMarkers(paths.processMarkers);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300 * attempt);
      }
    }
  }

  // A running box nobody here watches: a helper that died (its VM still up) fails it, as a watching session would.
  private checkHelpers(rec: BoxRecord): BoxRecord | undefined {
    const dead = this.store.processes.of(rec.id).find((p) => p.kind !== 'vmm' && !isRecordedProcess(p));
    if (!dead) return rec;
    const why = `the ${describeHelper(dead.kind, JSON.parse(rec.optionsJson) as ResolvedBoxOptions)} exited unexpectedly (pid ${dead.pid} ended)`;
    if (!this.store.update(rec.id, { lastError: why }, ['running'])) return this.store.get(rec.id);
    this.markStopped(rec.id, {}, ['running']); // ends the VM too: a box without its network or volumes is broken
    return this.store.get(rec.id);
  }

  /**
   * Starts the box if needed and attaches this process to it; idempotent and safe across processes. Concurrent
   * calls share one start, given up (AbortError; its VM ended, an auto-remove box removed) once every caller's
   * `signal` has aborted; a caller that aborts while others still wait rejects at once and leaves the start to them.
   */
  start(boxId: string, signal?: AbortSignal): Promise<BoxSession> {
    const what = `starting box ${boxId}`;
    if (signal?.aborted) return Promise.reject(abortError(signal, what));
    const key = `start:${boxId}`;
    if (!this.inflight.has(key)) this.startAborts.set(boxId, new SharedAbort());
    const shared = this.startAborts.get(boxId)!;
    shared.join(signal);
    const started = this.once(key, () => this.startNow(boxId, shared.signal).finally(() => {
      shared.dispose();
      if (this.startAborts.get(boxId) === shared) this.startAborts.delete(boxId);
    }));
    if (!signal) return started;
    return new Promise<BoxSession>((resolve, reject) => {
      // Listens after the shared abort (joined above), so it knows whether the start is being given up.
      const onAbort = (): void => { if (!shared.signal.aborted) reject(abortError(signal, what)); };
      signal.addEventListener('abort', onAbort, { once: true });
      started.then(
        (s) => { signal.removeEventListener('abort', onAbort); resolve(s); },
        (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(signal.aborted ? abortError(signal, what) : e); },
      );
    });
  }

  /**
   * True when the VM of `session` ended because of a deliberate stop: this process's (`stop()`, a forced remove,
   * closing the runtime) or another's (the box then is stopping or stopped without an error). A crash, a helper
   * that died or a guest that broke the protocol records a lastError first, so it is not one.
   */
  stoppedOnPurpose(boxId: string, session: BoxSession): boolean {
    if (session.stoppedOnPurpose) return true;
    if (session.stopRequested) return false; // ended here for a failure (a helper died, the protocol was broken)
    let rec;
    try {
      rec = this.store.get(boxId);
    } catch {
      return false; // the database is closed (the runtime let the box go) or failed: not a stop this runtime saw
    }
    return rec !== undefined && (rec.status === 'stopping' || rec.status === 'stopped' || rec.status === 'paused') && rec.lastError === undefined;
  }

  /** Stops the box (graceful, then forced); removes it if it auto-removes. Idempotent. */
  stop(boxId: string): Promise<void> {
    return this.once(`stop:${boxId}`, () => this.withLock(boxId, async (rec) => {
      const active = rec.status === 'running' || rec.status === 'stopping';
      const dirGone = active && !fs.existsSync(this.paths(rec.id).dir);
      if (active) await this.stopLocked(rec);
      if (rec.status === 'paused') await this.discardSaved(rec);
      if (rec.autoRemove && (active || rec.status === 'stopped' || rec.status === 'paused')) await this.removeLocked(rec.id);
      if (dirGone) {
        throw boxliteError('Storage', `box ${rec.id}: its directory ${this.paths(rec.id).dir} was deleted while it ran, so it could not shut down `
          + `cleanly: its VM was killed and the box ${rec.autoRemove ? 'removed' : `is stopped; remove it with \`boxlite rm ${rec.id}\``}`);
      }
    }));
  }

  /** Removes the box and its files; an active box needs `force` (it is stopped first). */
  remove(boxId: string, force: boolean): Promise<void> {
    return this.withLock(boxId, async (rec) => {
      if (rec.status === 'running' || rec.status === 'stopping') {
        if (!force) throw boxliteError('InvalidState', `cannot remove box ${rec.id}: it is ${rec.status}; stop it first or pass force`);
        await this.stopLocked(rec);
      }
      await this.removeLocked(rec.id);
    });
  }

  /**
   * Pauses a running box: the guest's writes are flushed to its disk, its VM (memory and devices) saved into the
   * box's directory, and its QEMU and helpers ended. Idempotent on a paused box. The box's commands keep running
   * inside, frozen; this process's streams of them end (`boxStopped`), as at a stop.
   */
  pause(boxId: string): Promise<void> {
    return this.once(`pause:${boxId}`, () => this.withLock(boxId, async (rec) => {
      if (rec.status === 'paused') return;
      if (rec.status !== 'running') throw boxliteError('InvalidState', `cannot pause box ${rec.id}: it is ${rec.status}; only a running box can be paused`);
      const options = JSON.parse(rec.optionsJson) as ResolvedBoxOptions;
      if (options.volumes?.length) throw pauseUnsupported(rec.id, 'paused');
      const session = this.session(rec.id) ?? await this.attach(rec);
      if (!session) throw boxliteError('InvalidState', `cannot pause box ${rec.id}: its VM is no longer running`);
      const files = new SavedVmFiles(this.paths(rec.id).savedVm);
      await files.remove();
      await fs.promises.mkdir(files.dir, { mode: 0o700 });
      const record = await saveSession(this.driver, session, files.statePath, {
        uid: jailRecordOf(rec)?.uid, keepRunning: false, shape: options, controlSocketPath: this.paths(rec.id).controlSocket,
        networkDevice: hasNetworkDevice(rec),
      }).catch(async (err: unknown) => {
        await files.remove();
        throw boxliteError(BoxliteError.is(err) ? err.code : 'Engine', `could not pause box ${rec.id}: ${messageOf(err)}; it keeps running`, err);
      });
      // From here the VM is gone: the box is paused once its record is written, and stopped (its disk kept) if not.
      session.stoppedOnPurpose = true;
      session.portal.close();
      this.sessions.delete(rec.id);
      try {
        await files.commit(record);
      } catch (err) {
        await files.remove();
        this.markStopped(rec.id, { lastError: `pausing failed after its VM was saved: ${messageOf(err)}` });
        throw boxliteError('Storage', `box ${rec.id}: could not record its saved state in ${files.recordPath} (${messageOf(err)}); the box is stopped, its disk kept`, err);
      }
      this.endHostState(rec.id);
      this.store.update(rec.id, { status: 'paused', vmm: undefined, owner: undefined, lastError: undefined });
      this.store.clearPortClaims(rec.id);
    }));
  }

  /**
   * The running state of a box for fork(): a running box's VM is saved while it keeps running (its disk copied to
   * `upperCopy` while the VM is stopped, so disk and memory agree); a paused box's saved VM is linked. The state
   * lands in `dir/stream` (RAM included) or, when the box's saved VM keeps its RAM in a file, `dir/state` + `dir/ram`.
   */
  capture(boxId: string, dir: string, copyDisk: (from: BoxPaths, to: string) => Promise<void>): Promise<CapturedVm> {
    let out: CapturedVm | undefined;
    return this.withLock(boxId, async (rec) => {
      const options = JSON.parse(rec.optionsJson) as ResolvedBoxOptions;
      if (rec.status !== 'running' && rec.status !== 'paused') throw boxliteError('InvalidState', `cannot fork box ${rec.id}: it is ${rec.status}; only a running or paused box can be forked`);
      if (options.volumes?.length) throw pauseUnsupported(rec.id, 'forked');
      const paths = this.paths(rec.id);
      const upperCopy = `${dir}/upper.ext4`;
      if (rec.status === 'paused') {
        const saved = await new SavedVmFiles(paths.savedVm).open(rec.id, await savedVmQemu());
        await copyDisk(paths, upperCopy);
        const statePath = `${dir}/${saved.ramPath ? 'state' : 'stream'}`;
        await fs.promises.link(saved.statePath, statePath);
        if (saved.ramPath) await fs.promises.link(saved.ramPath, `${dir}/ram`);
        out = { rec, options, record: saved.record, statePath, ramPath: saved.ramPath && `${dir}/ram`, upperCopy };
        return;
      }
      const session = this.session(rec.id) ?? await this.attach(rec);
      if (!session) throw boxliteError('InvalidState', `cannot fork box ${rec.id}: its VM is no longer running`);
      const statePath = `${dir}/stream`;
      const record = await saveSession(this.driver, session, statePath, {
        uid: jailRecordOf(rec)?.uid, keepRunning: true, shape: options, controlSocketPath: paths.controlSocket,
        whileStopped: () => copyDisk(paths, upperCopy), networkDevice: hasNetworkDevice(rec),
      });
      out = { rec, options, record, statePath, ramPath: undefined, upperCopy };
    }).then(() => {
      if (!out) throw notFound(boxId, 'fork');
      return out;
    });
  }

  // Stopping a paused box: its saved memory is dropped; its disk holds what the guest flushed before the pause.
  private async discardSaved(rec: BoxRecord): Promise<void> {
    await new SavedVmFiles(this.paths(rec.id).savedVm).remove();
    this.markStopped(rec.id, {});
  }

  /** Detaches from every box; stops the non-detached boxes this process launched. */
  async close(): Promise<void> {
    const failures: unknown[] = [];
    await Promise.all([...this.sessions.values()].map(async (s) => {
      try {
        const rec = this.store.get(s.boxId);
        if (s.launched && rec && !rec.detach) await this.stop(s.boxId).catch(() => undefined);
        else this.detach(s);
      } catch (err) {
        // The database failed (deleted, damaged): the connection is let go all the same (non-detached VMs still
        // die with this process), and the failure reported.
        this.sessions.delete(s.boxId);
        s.portal.close();
        failures.push(err);
      }
    }));
    if (failures.length > 0) throw failures[0];
  }

  private async startNow(boxId: string, signal: AbortSignal): Promise<BoxSession> {
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      if (signal.aborted) throw abortError(signal, `starting box ${boxId}`);
      const rec = this.reconcile(this.store.get(boxId));
      if (!rec) throw notFound(boxId, 'start');
      if (rec.status === 'stopping' && (this.inflight.has(`stop:${boxId}`) || rec.lockOwner?.pid === this.me.pid)) {
        throw boxliteError('InvalidState', `cannot start box ${boxId}: it is stopping`);
      }
      if (rec.status === 'running') {
        const attached = this.session(boxId);
        if (attached) return attached;
        const s = await this.attach(rec);
        if (s) return s;
        continue; // the VM vanished while attaching: reconcile and start it
      }
      const locked = this.store.tryLock(boxId, this.me);
      if (locked === undefined) throw notFound(boxId, 'start');
      if (!locked) {
        if (Date.now() > deadline) throw busy(rec);
        await sleep(50);
        continue;
      }
      try {
        const fresh = this.reconcile(this.store.get(boxId));
        if (!fresh) throw notFound(boxId, 'start');
        if (fresh.status === 'running') continue;
        if (fresh.status !== 'configured' && fresh.status !== 'stopped' && fresh.status !== 'paused') {
          throw boxliteError('InvalidState', `cannot start box ${boxId}: it is ${fresh.status}`);
        }
        return await this.boot(fresh, signal);
      } finally {
        this.store.unlock(boxId, this.me);
      }
    }
  }

  // Boots a box under its lock. A failed or aborted boot leaves nothing running, and removes a box that auto-removes
  // (it never ran, so nothing of it is worth keeping). Aborting kills the processes recorded so far, and any the
  // boot spawns after, so the boot fails at once at its next step; image pulls see the signal themselves.
  private async boot(rec: BoxRecord, signal: AbortSignal): Promise<BoxSession> {
    const options = JSON.parse(rec.optionsJson) as ResolvedBoxOptions;
    const resuming = rec.status === 'paused';
    const endProcesses = (): void => { this.store.processes.endAll(rec.id); };
    signal.addEventListener('abort', endProcesses, { once: true });
    this.store.clearPortClaims(rec.id);
    const port = this.store.claimPort(rec.id, PORTAL_PORTS, this.me)!;
    this.store.processes.endAll(rec.id); // none should be left; those of an earlier start must not be watched
    let jail: Awaited<ReturnType<typeof prepareBoxJail>>;
    try {
      const security = securityOf(options);
      // Before any uid is claimed: a claim whose box has no directory counts as stale (uids.ts).
      await fs.promises.mkdir(this.paths(rec.id).dir, { recursive: true, mode: 0o700 });
      jail = await prepareBoxJail({
        homeDir: this.homeDir, boxId: rec.id, security, memoryMib: options.memoryMib, cpus: options.cpus,
        tcg: chooseAccelerator(options.accelerator).accelerator === 'tcg', previousUid: jailRecordOf(rec)?.uid,
      });
      // The policy's table matches the uid of the box's passt: the jail's, or (development, as root) one of its own.
      const network = networkStateOf(rec);
      const egress = resolveEgress({ egress: network.egress });
      const netUid = jail?.record.uid ?? (process.getuid?.() === 0 && egress.mode !== 'none' ? await claimJailUid(this.homeDir, rec.id, network.uid) : undefined);
      this.store.update(rec.id, {
        jailJson: jail && JSON.stringify(jail.record),
        networkJson: JSON.stringify({ egress: network.egress, ...(netUid !== undefined ? { uid: netUid } : {}) } satisfies NetworkState),
      });
      checkRoomToStart(this.homeDir, this.sparseDisk(rec.id, options), this.store.list()
        .filter((r) => r.status === 'running' || r.status === 'stopping')
        .map((r) => this.sparseDisk(r.id, JSON.parse(r.optionsJson) as ResolvedBoxOptions)));
      const resume = resuming ? { saved: await new SavedVmFiles(this.paths(rec.id).savedVm).open(rec.id, await savedVmQemu()), ports: portsOf(rec) } : undefined;
      const booted = await bootBox({
        boxId: rec.id, homeDir: this.homeDir, paths: this.paths(rec.id), options, driver: this.driver, port, templates: this.templates,
        prepareImage: (ref) => this.imageOf(rec, ref, signal),
        onProcess: (p) => { this.store.processes.record(rec.id, p); if (signal.aborted) endProcesses(); },
        jail: jail?.jail, sandbox: security.seccompEnabled, network: { egress, uid: netUid }, guest: this.guest,
        ...(resume ? { resume } : {}),
      });
      if (signal.aborted) {
        booted.portal.close();
        await booted.vm.kill();
        throw abortError(signal, `starting box ${rec.id}`);
      }
      this.store.update(rec.id, {
        status: 'running', vmm: { pid: booted.vm.pid, start: booted.vm.pidStart }, bootId: currentBootId(),
        accelerator: booted.accelerator.accelerator, owner: options.detach ? undefined : this.me, lastError: undefined,
        timingsJson: JSON.stringify({ ...booted.timings, acceleratorReason: booted.accelerator.reason, kernel: booted.kernel, startMode: booted.startMode }),
        imageDigest: booted.image?.digest, imageConfigJson: booted.image && JSON.stringify(booted.image.config),
        portsJson: JSON.stringify(booted.ports),
      });
      // The VM runs on from its saved state, which it has left behind: the saved files are of no further use.
      if (resuming) await new SavedVmFiles(this.paths(rec.id).savedVm).remove();
      const helpers = booted.helpers.map((h) => ({ kind: h.kind, exited: h.process.exited }));
      return this.track({ boxId: rec.id, portal: booted.portal, port, vm: booted.vm, launched: true, helpers, ended: new AbortController(), stopRequested: false, stoppedOnPurpose: false });
    } catch (err) {
      const aborted = signal.aborted;
      try {
        this.endHostState(rec.id);
        this.store.releasePort(rec.id, port, this.me);
        // A resume that failed loses nothing: the box stays paused with its saved VM, to try again or stop.
        this.store.update(rec.id, { status: resuming ? 'paused' : 'stopped', vmm: undefined, lastError: aborted ? 'its start was aborted' : messageOf(err) });
        if (!aborted) this.store.bump('boxes_failed');
      } catch {
        // The database cannot take the failure either (a full disk): the box stays as it was; report the first error.
        throw aborted ? abortError(signal, `starting box ${rec.id}`) : err;
      }
      const removed = rec.autoRemove && !resuming && await this.removeLocked(rec.id).then(() => true, () => false);
      if (aborted) throw abortError(signal, `starting box ${rec.id}`);
      throw removed ? withRemoval(err, rec.id) : err;
    } finally {
      signal.removeEventListener('abort', endProcesses);
    }
  }

  // Connects this process to a box another process (or an earlier runtime) started. Undefined if its VM is gone.
  private async attach(rec: BoxRecord): Promise<BoxSession | undefined> {
    const paths = this.paths(rec.id);
    const vm = rec.vmm && this.driver.adopt(rec.vmm.pid, rec.vmm.start, paths.dir, paths.consoleLog);
    if (!vm) return undefined;
    const port = this.store.claimPort(rec.id, PORTAL_PORTS, this.me);
    if (port === undefined) {
      throw boxliteError('InvalidState', `box ${rec.id} already has ${PORTAL_PORTS} processes attached; close one of them (runtime.close()) and try again`);
    }
    try {
      const portal = await PortalClient.connect(paths.portalSocket(port), `box ${rec.id}`, Date.now() + 5000);
      const ready = await orTimeout(portal.handshake(), 10_000, undefined);
      if (!ready) {
        portal.close();
        throw boxliteError('Portal', `box ${rec.id}: the guest agent did not answer on portal port ${port} within 10 s`);
      }
      const ended = new AbortController();
      const helpers = this.store.processes.of(rec.id).filter((p) => p.kind !== 'vmm').map((p) => ({ kind: p.kind, exited: pollExit(p, ended.signal) }));
      return this.track({ boxId: rec.id, portal, port, vm, launched: false, helpers, ended, stopRequested: false, stoppedOnPurpose: false });
    } catch (err) {
      this.store.releasePort(rec.id, port, this.me);
      if (vm.hasExited) return undefined;
      throw err;
    }
  }

  private track(session: BoxSession): BoxSession {
    this.sessions.set(session.boxId, session);
    void session.vm.exited.then((exit) => {
      session.ended.abort();
      if (this.sessions.get(session.boxId) !== session) return;
      this.sessions.delete(session.boxId);
      if (session.stopRequested) return;
      const how = describeExit(exit);
      // A helper that went first (virtiofsd, passt) took the VM with it: the helper is what failed.
      // (A helper seen to exit in the same instant may just have noticed the VM's end first.)
      const gone = session.helperGone && Date.now() - session.helperGone.atMs >= HELPER_FIRST_MS ? session.helperGone : undefined;
      const why = gone ? this.helperWhy(session.boxId, gone.kind, gone.how) : `the VM exited unexpectedly (${how})`;
      session.portal.destroy(boxliteError('Portal', gone ? `box ${session.boxId} stopped: ${why}` : `box ${session.boxId} stopped unexpectedly: the VM exited (${how})`));
      this.markStopped(session.boxId, { lastError: why }, ['running']);
    });
    for (const h of session.helpers) {
      void h.exited.then((how) => {
        if (!session.vm.hasExited) session.helperGone ??= { kind: h.kind, how, atMs: Date.now() };
        return this.helperExited(session, h.kind, how);
      });
    }
    void session.portal.closed.then((err) => {
      // A guest that breaks the protocol is hostile or broken: it is stopped and the box marked failed.
      if (!err || !(err.cause instanceof ProtocolViolation) || session.vm.hasExited) return;
      this.store.update(session.boxId, { lastError: err.message });
      session.stopRequested = true;
      void session.vm.kill().then(() => {
        this.markStopped(session.boxId, {}, ['running', 'stopping']);
      });
    });
    return session;
  }

  // Why a box failed when its helper `kind` exited.
  private helperWhy(boxId: string, kind: string, how: string): string {
    const rec = this.store.get(boxId);
    return `the ${describeHelper(kind, rec ? JSON.parse(rec.optionsJson) as ResolvedBoxOptions : {})} exited unexpectedly (${how})`;
  }

  // A helper of a watched box exited: unless its VM went first (a stop or a crash), the box is failed and stopped.
  private async helperExited(session: BoxSession, kind: string, how: string): Promise<void> {
    await orTimeout(session.vm.exited, 1000, undefined); // a VM's exit ends its helpers: that is the VM's exit
    if (session.vm.hasExited || session.stopRequested || this.sessions.get(session.boxId) !== session) return;
    const why = this.helperWhy(session.boxId, kind, how);
    if (!this.store.update(session.boxId, { lastError: why }, ['running'])) return;
    session.stopRequested = true;
    session.portal.destroy(boxliteError('Portal', `box ${session.boxId} stopped: ${why}`));
    await session.vm.kill();
    this.markStopped(session.boxId, {}, ['running', 'stopping']);
    if (this.sessions.get(session.boxId) === session) this.sessions.delete(session.boxId);
  }

  private detach(session: BoxSession): void {
    session.ended.abort();
    this.sessions.delete(session.boxId);
    session.portal.close();
    this.store.releasePort(session.boxId, session.port, this.me);
  }

  // Powers the guest off (or kills it) and records Stopped. The caller holds the lock.
  private async stopLocked(rec: BoxRecord): Promise<void> {
    this.store.update(rec.id, { status: 'stopping' });
    const paths = this.paths(rec.id);
    let session = this.session(rec.id);
    // Without the box's directory there are no portal sockets to attach through: the VM can only be killed.
    if (!session && fs.existsSync(paths.dir)) session = await this.attach(rec).catch(() => undefined);
    const vm = session?.vm ?? (rec.vmm && this.driver.adopt(rec.vmm.pid, rec.vmm.start, paths.dir, paths.consoleLog));
    if (session) {
      session.stopRequested = true;
      session.stoppedOnPurpose = true;
    }
    const asked = session?.portal.isOpen === true && await orTimeout(session.portal.shutdown().then(() => true, () => false), STOP_GRACE_MS, false);
    if (vm && !(asked && await orTimeout(vm.exited.then(() => true), STOP_GRACE_MS, false))) await vm.kill();
    if (session) {
      session.portal.close();
      this.sessions.delete(rec.id);
    }
    this.markStopped(rec.id, {}); // helpers end with their VM; any left (none connected yet) end here
  }

  private async removeLocked(boxId: string): Promise<void> {
    await this.paths(boxId).remove();
    this.releaseAll(boxId);
    this.store.delete(boxId);
  }

  /** Runs `fn` on the box's current row holding its lock (NotFound, naming `op`, when the box is gone). */
  async withBoxLock<T>(boxId: string, op: string, fn: (rec: BoxRecord) => Promise<T>): Promise<T> {
    const done = await this.withLock(boxId, async (rec) => ({ value: await fn(rec) }));
    if (!done) throw notFound(boxId, op);
    return done.value;
  }

  // An image box's base disk: the image's shared one, or the box's own when it came with it (an imported box).
  private async imageOf(rec: BoxRecord, ref: string, signal: AbortSignal): Promise<ImageRootfs> {
    const own = this.paths(rec.id).baseDisk;
    if (rec.imageDigest && rec.imageConfigJson && fs.existsSync(own)) {
      return { baseDiskPath: own, digest: rec.imageDigest, config: JSON.parse(rec.imageConfigJson) as ImageRootfs['config'] };
    }
    return this.prepareImage(ref, signal);
  }

  /** The shared read-only base disk of an image (pulled and converted first when needed). */
  async imageBaseDisk(ref: string): Promise<string> {
    return (await this.prepareImage(ref)).baseDiskPath;
  }

  /**
   * Runs `fn` on a box that is not running (disk snapshots, clones), holding its lock so that no start begins
   * meanwhile: NotFound when the box is gone, InvalidState naming its status when it is not one of `allowed`.
   */
  async whileIdle<T>(boxId: string, what: string, allowed: ReadonlyArray<BoxRecord['status']>, fn: (rec: BoxRecord) => Promise<T>): Promise<T> {
    const done = await this.withLock(boxId, async (rec) => {
      if (!allowed.includes(rec.status)) {
        throw boxliteError('InvalidState', `cannot ${what} box ${rec.id}: it is ${rec.status}, and this needs it ${allowed.join(' or ')}; stop it first (box.stop(), or \`boxlite stop\`)`);
      }
      return { value: await fn(rec) };
    });
    if (!done) throw notFound(boxId, what);
    return done.value;
  }

  // Runs `fn` holding the box's lock, waiting while another process holds it; undefined when the box is gone.
  private async withLock<T>(boxId: string, fn: (rec: BoxRecord) => Promise<T>): Promise<T | undefined> {
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      const rec = this.reconcile(this.store.get(boxId));
      if (!rec) return undefined;
      const locked = this.store.tryLock(boxId, this.me);
      if (locked === undefined) return undefined;
      if (!locked) {
        if (Date.now() > deadline) throw busy(rec);
        await sleep(50);
        continue;
      }
      try {
        const fresh = this.store.get(boxId);
        if (!fresh) return undefined;
        return await fn(fresh);
      } finally {
        this.store.unlock(boxId, this.me);
      }
    }
  }

  /**
   * Runs `sweep` (recovery's removal of a box's cgroup or policy table) only while box `boxId` is idle: not running
   * or stopping, and locked here for the sweep, so a start in another process cannot begin halfway through it. A box
   * without a row is swept as it is. Returns whether `sweep` ran.
   */
  sweepIfIdle(boxId: string, sweep: () => void): boolean {
    const idle = (r: BoxRecord): boolean => r.status !== 'running' && r.status !== 'stopping';
    const rec = this.store.get(boxId);
    if (rec && !idle(rec)) return false;
    const locked = rec ? this.store.tryLock(boxId, this.me) : undefined;
    if (locked === false) return false; // a live process is starting or stopping it
    try {
      const fresh = locked ? this.store.get(boxId) : undefined;
      if (fresh && !idle(fresh)) return false;
      sweep();
      return true;
    } finally {
      if (locked) this.store.unlock(boxId, this.me);
    }
  }

  // Records a box as Stopped (compare-and-set on `from` when given): its recorded processes are ended, its VM and
  // owner cleared with `patch` applied, and its portal claims dropped.
  private markStopped(boxId: string, patch: BoxPatch, from?: ReadonlyArray<BoxRecord['status']>): void {
    this.endHostState(boxId);
    this.store.update(boxId, { ...patch, status: 'stopped', vmm: undefined, owner: undefined }, from);
    this.store.clearPortClaims(boxId);
  }

  // What a box holds on the host only while it runs: its processes, its cgroup and its policy table.
  private endHostState(boxId: string): void {
    this.store.processes.endAll(boxId);
    releaseCgroup(jailRecordOf(this.store.get(boxId)));
    releaseEgress(this.homeDir, boxId);
  }

  // Everything a removed box held on the host beyond its files: jail, cgroup, policy table, claimed uids.
  private releaseAll(boxId: string): void {
    const rec = this.store.get(boxId);
    releaseBoxJail(this.homeDir, boxId, jailRecordOf(rec));
    releaseEgress(this.homeDir, boxId);
    const netUid = rec && networkStateOf(rec).uid;
    if (netUid !== undefined) releaseJailUid(this.homeDir, boxId, netUid);
  }

  /**
   * Changes the network policy of a box, live when it runs (its table is replaced atomically: the next connection
   * follows the new policy). A box started without a network (egress none) cannot get one live, nor lose it.
   */
  updateNetwork(boxId: string, policy: NetworkPolicy): Promise<void> {
    const egress = resolveEgress(policy);
    return this.withLock(boxId, async (rec) => {
      const options = JSON.parse(rec.optionsJson) as ResolvedBoxOptions;
      if (egress.mode === 'none' && options.ports?.length) throw boxliteError('InvalidArgument', `box ${rec.id} publishes ports, so its network egress cannot be "none"`);
      checkForwarderPossible(egress, securityOf(options));
      const state = networkStateOf(rec);
      if (rec.status === 'paused' && (resolveEgress({ egress: state.egress }).mode === 'none') !== (egress.mode === 'none')) {
        throw boxliteError('InvalidState', `box ${rec.id} is paused ${egress.mode === 'none' ? 'with' : 'without'} a network device, which its saved VM must keep: resume it first, or stop it, update, and start it again`);
      }
      if (rec.status === 'running' || rec.status === 'stopping') {
        const before = resolveEgress({ egress: state.egress });
        if ((before.mode === 'none') !== (egress.mode === 'none')) {
          throw boxliteError('InvalidState', `box ${rec.id} is running ${before.mode === 'none' ? 'without a network device (egress none)' : 'with a network device'}: egress ${egress.mode === 'none' ? '"none"' : JSON.stringify(egressPolicyOf(egress))} needs a restart; stop the box, update, and start it again`);
        }
        // The forwarder (started with the box when its policy had domain rules) follows its rules file at once.
        const forwarder = this.store.processes.of(rec.id).some((p) => p.kind === 'dns');
        if (needsForwarder(egress) && !forwarder) {
          throw boxliteError('InvalidState', `box ${rec.id} started without domain rules, so its DNS does not go through a forwarder of ours: domain rules need a restart; stop the box, update, and start it again`);
        }
        const table = policyTable(this.homeDir, rec.id);
        // The table first: if nft refuses it, the forwarder keeps following the rules the table still has.
        await enforceEgress(this.homeDir, rec.id, state.uid, egress, forwarder ? dnsListenAddress(table) : undefined);
        if (forwarder) writeForwarderRules(this.paths(rec.id).dnsRules, table, egress);
      }
      this.store.update(rec.id, { networkJson: JSON.stringify({ ...state, egress: egressPolicyOf(egress) } satisfies NetworkState) });
    });
  }

  private sparseDisk(boxId: string, options: ResolvedBoxOptions): SparseDisk {
    const paths = this.paths(boxId);
    return { boxId, path: currentUpper(paths)?.path ?? paths.upperDisk, diskSizeGb: options.diskSizeGb };
  }

  private vmAlive(rec: BoxRecord): boolean {
    const s = this.sessions.get(rec.id);
    if (s && !s.vm.hasExited) return true;
    if (rec.bootId !== currentBootId() || !rec.vmm) return false;
    const paths = this.paths(rec.id);
    return this.driver.adopt(rec.vmm.pid, rec.vmm.start, paths.dir, paths.consoleLog) !== undefined;
  }

  // Shares one in-flight operation per key within this process.
  private once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.inflight.get(key) as Promise<T> | undefined;
    if (running) return running;
    const p = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }
}

/** The jail of a box's last start, if it had one. */
export function jailRecordOf(rec: BoxRecord | undefined): JailRecord | undefined {
  return rec?.jailJson ? JSON.parse(rec.jailJson) as JailRecord : undefined;
}

/** Stage timings recorded at the last start, if any. */
export function timingsOf(rec: BoxRecord): BoxStageTimings | undefined {
  return rec.timingsJson ? JSON.parse(rec.timingsJson) as BoxStageTimings : undefined;
}

// The error of a failed start of a box that auto-removes, saying that the box and its files (its console log too)
// are gone, and how to keep them.
function withRemoval(err: unknown, boxId: string): unknown {
  if (!BoxliteError.is(err)) return err;
  return boxliteError(err.code, `${err.message}; box ${boxId} was removed with its files (console log included), `
    + 'as it auto-removes; create it with autoRemove: false to keep a box whose start failed', err);
}

/** A box's running state captured for a fork: where its state, RAM and disk copy are, and what it was. */
export interface CapturedVm {
  rec: BoxRecord;
  options: ResolvedBoxOptions;
  record: SavedVmRecord;
  /** The state: RAM included (`stream`) unless `ramPath` is given. */
  statePath: string;
  ramPath: string | undefined;
  upperCopy: string;
}

/** The Unsupported error of pausing or forking a box with volumes. */
export function pauseUnsupported(boxId: string, what: 'paused' | 'forked'): BoxliteError {
  return boxliteError('Unsupported', `box ${boxId} has volumes, so it cannot be ${what}: QEMU cannot save a VM whose memory a volume's `
    + 'file server (virtiofsd, vhost-user) shares; stop it instead, or use a box without volumes');
}

/** Whether a box's VM has a network device (its policy is not egress none). */
function hasNetworkDevice(rec: BoxRecord): boolean {
  return resolveEgress({ egress: networkStateOf(rec).egress }).mode !== 'none';
}

/** The ports a box had bound at its last start (a paused box binds the same again). */
function portsOf(rec: BoxRecord): PortForward[] {
  return rec.portsJson ? JSON.parse(rec.portsJson) as PortForward[] : [];
}

function notFound(boxId: string, op: string): BoxliteError {
  return boxliteError('NotFound', `cannot ${op} box ${boxId}: it does not exist (it was removed)`);
}

function busy(rec: BoxRecord): BoxliteError {
  return boxliteError('InvalidState', `box ${rec.id} is ${rec.status} and locked by process ${rec.lockOwner?.pid ?? '?'}, which did not finish within ${LOCK_WAIT_MS / 1000} s`);
}
