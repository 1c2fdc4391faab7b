// LiteBox: the handle of one box — info, start, run, stop, metrics — over the shared state and lifecycle.
import type { Readable } from 'node:stream';
import { BoxliteError, boxliteError, guarded } from '../errors.js';
import { ProtocolViolation } from '../portal/codec.js';
import { DeadlinePassed } from '../portal/deadlines.js';
import type { BoxRecord, BoxStore } from '../state/box-store.js';
import { describeExit, type ImageRootfs } from './boot.js';
import { BoxCommand } from './command.js';
import { Execution, startExecution, type ExecutionHost } from './execution.js';
import { BoxID } from './ids.js';
import { jailRecordOf, timingsOf, type BoxLifecycle } from './lifecycle.js';
import { confinedProgram } from '../jailer/supervisor.js';
import { collectBoxMetrics, type BoxMetrics } from './metrics.js';
import { securityOf, type ResolvedBoxOptions } from './options.js';
import type { PortForward } from '../vmm/network/passt.js';
import { BoxStatus, type BoxInfo, type BoxState } from './status.js';
import type { BoxStageTimings } from './stage-timings.js';
import type { GuestKernel } from '../setup/kernel-flavor.js';
import { orTimeout } from '../util/timeout.js';
import { raceAbort, throwIfAborted } from '../util/abort.js';
import type { RunOptions, StartOptions } from './call-options.js';
import { networkStateOf } from './box-network.js';
import { configOf } from './box-config.js';
import { BoxFs } from '../files/box-fs.js';
import type { FileHost } from '../files/builtin-call.js';
import { copyIn } from '../files/copy-in.js';
import { copyOut } from '../files/copy-out.js';
import { tarIn, tarOut } from '../files/tar-stream.js';
import type { CopyInOptions, CopyOutOptions, CopyResult } from '../files/types.js';
import { execOnce, shellOnce, splitExecArgs } from './exec-once.js';
import { DEFAULT_PATH } from './exec-options.js';
import type { BufferExecOptions, CommandResult, ExecOptions, TextExecOptions } from './exec-options.js';
import { publishedPort } from './published-port.js';
import { explainProbeFailure, waitForPort, type WaitForPortOptions } from './wait-for-port.js';
import type { NetworkPolicy } from '../vmm/network/policy.js';
import { forkBox } from './fork.js';
import { exportBox } from './box-export.js';
import type { ForkOptions } from './call-options.js';
import type { CommitOptions, ImageStore, PulledImage } from '../images/index.js';
import { commitBox } from './box-commit.js';
import { BoxSnapshots } from './snapshots.js';


/** @internal What a box handle needs from its runtime. */
export interface BoxServices {
  store: BoxStore;
  lifecycle: BoxLifecycle;
  homeDir: string;
  /** The runtime's image store (for commits). */
  images: () => ImageStore;
}

/**
 * A box: an isolated Linux VM you run commands in. Get one from `runtime.create()` or `runtime.get()`.
 *
 * Lifecycle: Configured (no VM yet) → `start()` or the first `run()` → Running → `stop()` → Stopped, which can
 * start again (unless the box auto-removes). Calls in a state that does not allow them reject with
 * `InvalidState`. The state lives in the home dir's database, so several handles — in this process or in
 * others — may drive the same box. `await using` stops the box.
 */
export class LiteBox implements AsyncDisposable {
  private files: BoxFs | undefined;
  private disks: BoxSnapshots | undefined;
  /** @internal */
  constructor(readonly id: BoxID, readonly name: string | undefined, private readonly svc: BoxServices) {}

  /** Box metadata, read from the state database; never starts the VM. NotFound once the box was removed. */
  info(): BoxInfo {
    return toInfo(this.record('get info of'));
  }

  /** The box's dynamic state (status, VMM pid, container id, lock holder). */
  state(): BoxState {
    const rec = this.record('get state of');
    const info = toInfo(rec);
    return {
      status: info.status, pid: info.pid, containerId: rec.containerId, lastUpdated: info.lastUpdated,
      lockId: rec.lockOwner ? `${rec.lockOwner.pid}:${rec.lockOwner.start}` : undefined,
    };
  }

  /** Stage timings of the last start, once started. */
  get stageTimings(): BoxStageTimings | undefined {
    const rec = this.svc.store.get(this.id.asStr());
    return rec && timingsOf(rec);
  }

  /** Why this box runs on KVM or TCG, once started. */
  get acceleratorReason(): string | undefined {
    return this.stageTimings?.acceleratorReason;
  }

  /** The guest kernel of the last start (release and flavor), once started. */
  get kernel(): GuestKernel | undefined {
    return this.stageTimings?.kernel;
  }

  /**
   * Boots the VM. Idempotent: resolves at once when the box is already running; concurrent calls share one boot.
   * A failed start of a box that auto-removes removes it (its error says why the start failed). `opts.signal`
   * gives the start up: it rejects with an AbortError and leaves nothing running (see StartOptions).
   */
  async start(opts: StartOptions = {}): Promise<void> {
    await this.guard('starting', () => this.svc.lifecycle.start(this.id.asStr(), opts.signal));
  }

  /**
   * Runs a command (a BoxCommand, or a program name), starting the box first if needed. `opts.signal` kills the
   * command when it aborts, and gives up the start this call makes (AbortError; see RunOptions).
   */
  async run(command: BoxCommand | string, opts: RunOptions = {}): Promise<Execution> {
    return this.guard('running a command in', () => this.runCommand(command, opts.signal));
  }

  private async runCommand(command: BoxCommand | string, signal: AbortSignal | undefined): Promise<Execution> {
    const cmd = typeof command === 'string' ? new BoxCommand(command) : command;
    throwIfAborted(signal, `running \`${cmd.toString()}\` in box ${this.id}`);
    const rec = this.record('run in');
    if (rec.status === 'stopping') throw new BoxliteError('InvalidState', `cannot run in box ${this.id}: it is stopping`);
    const session = await this.svc.lifecycle.start(this.id.asStr(), signal);
    const options = JSON.parse(rec.optionsJson) as ResolvedBoxOptions;
    const boxId = this.id.asStr();
    this.svc.store.addBoxCounters(boxId, { commands: 1 });
    this.svc.store.bump('commands_run');
    const host = this.executionHost(session);
    // The command's settings win over the box's, which win over the image's.
    const imageConfigJson = (this.svc.store.get(boxId) ?? rec).imageConfigJson; // recorded by the first start
    const image = imageConfigJson ? JSON.parse(imageConfigJson) as ImageRootfs['config'] : undefined;
    const user = cmd.userName ?? options.user ?? image?.user ?? '';
    return raceAbort(startExecution(host, boxId, cmd.toString(), {
      argv: cmd.argv,
      env: environment(image?.env ?? [], options, cmd, user),
      workingDir: cmd.cwd ?? options.workingDir ?? (image?.workingDir || '/'),
      tty: cmd.isTty, rows: 24, cols: 80,
      timeoutMs: cmd.timeoutMs ?? 0,
      user,
    }, signal), signal, `running \`${cmd.toString()}\` in box ${boxId}`);
  }

  // How an execution reaches the portal, reports its end, and explains a failure (the VM's exit, its console).
  private executionHost(session: Awaited<ReturnType<BoxLifecycle['start']>>): ExecutionHost {
    const boxId = this.id.asStr();
    return {
      portal: session.portal,
      explainFailure: async (err, what) => {
        const vm = session.vm;
        if (err.code === 'Run') return err;
        const said = err.message.startsWith(`box ${boxId}: `) ? err.message : `box ${boxId}: ${err.message}`;
        // A guest that broke the protocol is the cause, though the VM is then killed for it: say so, not "SIGKILL".
        if (err.cause instanceof ProtocolViolation) return boxliteError('Portal', `${said} while ${what}; the box was stopped`, err);
        // A deadline that passed is the cause too; the VM still runs, so there is no exit to wait for.
        if (err.cause instanceof DeadlinePassed) return boxliteError('Portal', `${said} while ${what}`, err);
        const exit = await orTimeout(vm.exited, 2000, undefined);
        if (!exit) return boxliteError(err.code, `${said} while ${what}`, err);
        // A VM ended on purpose for a failure (a helper died, the guest broke the protocol) says which.
        const failure = session.stopRequested ? this.svc.store.get(boxId)?.lastError : undefined;
        return boxliteError('Portal', `box ${boxId} stopped while ${what}: ${failure ?? `the VM exited (${describeExit(exit)})`}; `
          + `last console lines (full log: ${vm.consoleLogPath}):\n${vm.consoleTail(15)}`, err);
      },
      stoppedOnPurpose: () => this.svc.lifecycle.stoppedOnPurpose(boxId, session),
      onExecutionEnded: ({ failed, bytesSent, bytesReceived }) => {
        try {
          this.svc.store.addBoxCounters(boxId, { errors: failed ? 1 : 0, sent: bytesSent, received: bytesReceived });
          if (failed) this.svc.store.bump('run_errors');
        } catch {
          // Counters are best effort: a command can end after its runtime closed the database (a detached box).
        }
      },
    };
  }

  /**
   * The files of the box (read, write, list, watch...), through the agent: works in any image, even one without
   * a shell. See BoxFs.
   */
  get fs(): BoxFs {
    this.files ??= new BoxFs(this.fileHost());
    return this.files;
  }

  /**
   * Copies a host file or directory tree into the box (as `docker cp`): modes, mtimes and symlinks are kept; what is
   * written belongs to the box's user unless CopyInOptions say otherwise. Starts the box if it is not running.
   */
  async copyIn(hostPath: string, guestPath: string, options?: CopyInOptions): Promise<CopyResult> {
    return this.guard('copying into', () => copyIn(this.fileHost(), this.fs, hostPath, guestPath, options));
  }

  /**
   * Copies a file or directory tree of the box to the host (as `docker cp`). What the box sends is checked: nothing
   * is written outside `hostPath`, no symlink is followed, no device node or setuid file is made, the limits of
   * CopyOutOptions hold, and a failed copy leaves nothing behind. Starts the box if it is not running.
   */
  async copyOut(guestPath: string, hostPath: string, options?: CopyOutOptions): Promise<CopyResult> {
    return this.guard('copying out of', () => copyOut(this.fileHost(), guestPath, hostPath, options));
  }

  /**
   * A file or directory tree of the box as a tar stream (as `docker cp BOX:PATH -`); `guestPath` ending in `/.`
   * gives a directory's contents. What the box sends is checked entry by entry (confined names, no entry beneath an
   * archived symlink, the limits of CopyOutOptions) and packed again; the stream errors where the box went wrong.
   */
  async copyOutTar(guestPath: string, options?: CopyOutOptions): Promise<Readable> {
    return this.guard('copying out of', () => tarOut(this.fileHost(), this.fs, guestPath, options));
  }

  /** Extracts a tar stream into an existing directory of the box (as `docker cp - BOX:DIR`); owners as copyIn's. */
  async copyInTar(archive: AsyncIterable<Uint8Array>, guestDir: string, options?: CopyInOptions): Promise<void> {
    return this.guard('copying into', () => tarIn(this.fileHost(), this.fs, archive, guestDir, options));
  }

  /**
   * Turns the box's filesystem changes into a new image `ref` in the runtime's image store (as `docker commit`): one
   * layer over the box's image (files written, and whiteouts for those deleted), with the image's process defaults
   * unless CommitOptions change them; `runtime.create({ rootfs: { image: ref } })` then uses it. Starts the box if it
   * is not running; what is being written meanwhile may or may not be in the layer. Only boxes made from an image
   * can be committed (Unsupported otherwise). What the box sends is checked and bounded (CommitOptions).
   */
  async commit(ref: string, options?: CommitOptions): Promise<PulledImage> {
    return this.guard('committing', () => commitBox({
      ...this.fileHost(),
      unsupported: () => {
        const options = JSON.parse(this.record('commit').optionsJson) as ResolvedBoxOptions;
        return 'rootfsPath' in options.rootfs
          ? `it was made from the directory ${options.rootfs.rootfsPath}, not an image; only image boxes can be committed (their changes are a layer over the image). Create the box from an image, or copy its files out with copyOut`
          : undefined;
      },
      imageDigest: () => this.record('commit').imageDigest,
    }, this.svc.images(), ref, options));
  }

  /**
   * The box's disk snapshots: `create(name)`, `list()`, `restore(name)`, `remove(name)`, made and used while the box
   * is stopped. See BoxSnapshots.
   */
  get snapshots(): BoxSnapshots {
    this.disks ??= new BoxSnapshots(this.id.asStr(), this.svc);
    return this.disks;
  }

  private fileHost(): FileHost {
    return {
      boxId: this.id.asStr(),
      startBuiltin: (argv) => this.guard('running a file operation in', async () => {
        const rec = this.record('use files of');
        if (rec.status === 'stopping') throw new BoxliteError('InvalidState', `cannot use the files of box ${this.id}: it is stopping`);
        const session = await this.svc.lifecycle.start(this.id.asStr());
        return startExecution(this.executionHost(session), this.id.asStr(), argv.join(' '), {
          argv, env: [], workingDir: '/', tty: false, builtin: true, rows: 24, cols: 80, timeoutMs: 0, user: '',
        });
      }),
      defaultOwner: async () => {
        await this.guard('starting', () => this.svc.lifecycle.start(this.id.asStr())); // the image's user is known once started
        const rec = this.record('use files of');
        const options = JSON.parse(rec.optionsJson) as ResolvedBoxOptions;
        const image = rec.imageConfigJson ? JSON.parse(rec.imageConfigJson) as ImageRootfs['config'] : undefined;
        return options.user ?? image?.user ?? '';
      },
    };
  }

  /**
   * Runs `program` with `args` to completion and returns its exit code and output (text, or Buffers with
   * `encoding: 'buffer'`), like Node's `execFile`: a non-zero exit is a result, not an error. Options: `env`, `cwd`,
   * `user`, `timeoutMs` (the result says `timedOut`), `input` (stdin), `signal` (abort kills it: AbortError), and
   * `maxBuffer` (bytes kept per stream, default 16 MiB; more kills the command and rejects with a Run error).
   */
  exec(program: string, args?: readonly string[], options?: TextExecOptions): Promise<CommandResult>;
  exec(program: string, args: readonly string[], options: BufferExecOptions): Promise<CommandResult<Buffer>>;
  exec(program: string, options: BufferExecOptions): Promise<CommandResult<Buffer>>;
  exec(program: string, options?: TextExecOptions): Promise<CommandResult>;
  exec(program: string, a?: readonly string[] | ExecOptions, b?: ExecOptions): Promise<CommandResult<string | Buffer>> {
    const [args, options] = splitExecArgs(a, b);
    return execOnce((c) => this.run(c), program, args, options);
  }

  /** Runs a shell script with `/bin/sh -c` to completion, as `exec()` does (a Run error says so if the box has no /bin/sh). */
  sh(script: string, options?: TextExecOptions): Promise<CommandResult>;
  sh(script: string, options: BufferExecOptions): Promise<CommandResult<Buffer>>;
  sh(script: string, options: ExecOptions = {}): Promise<CommandResult<string | Buffer>> {
    return shellOnce((c) => this.run(c), script, options);
  }

  /**
   * The host port a published guest port is reachable at (from `info().ports`). InvalidArgument when the box does
   * not publish it; InvalidState when its host port is picked at start and the box is not running.
   */
  hostPort(guestPort: number, protocol: 'tcp' | 'udp' = 'tcp'): number {
    return publishedPort(this.info(), guestPort, protocol).hostPort;
  }

  /**
   * Resolves once something in the box listens on TCP `guestPort` and its published host port accepts a connection
   * (polling with backoff; the box's /proc/net/tcp is read with `cat`, since passt accepts host connections even when
   * nothing listens). Rejects with a Network error after `timeoutMs` (default 30 s) saying what was missing.
   */
  waitForPort(guestPort: number, options?: WaitForPortOptions): Promise<void> {
    return waitForPort({
      label: `box ${this.id}`,
      published: () => publishedPort(this.info(), guestPort),
      readProcNetTcp: () => this.exec('cat', ['/proc/net/tcp', '/proc/net/tcp6'], { signal: options?.signal }).then((r) => r.stdout, explainProbeFailure),
    }, guestPort, options);
  }

  /**
   * Stops the box: the guest syncs and powers off; after 10 s the VM is killed. The box can be started again,
   * unless it auto-removes (the default), in which case it is removed. Idempotent.
   */
  async stop(): Promise<void> {
    await this.guard('stopping', () => this.svc.lifecycle.stop(this.id.asStr()));
  }

  /**
   * Pauses the box with its memory kept: the guest's writes are flushed, the VM (RAM and devices) saved into the
   * box's directory, and its QEMU and helpers end, so a paused box costs disk only. `resume()` (from any process,
   * after a host reboot too) continues every process where it was; `start()` and `run()` resume it as well, and
   * `stop()` discards the saved memory (the disk keeps what was flushed). Commands running at the pause go on inside,
   * but their streams in this process end as at a stop. TCP connections from outside through published ports may
   * drop; listening sockets and in-memory state stay. InvalidState unless the box is running (idempotent when
   * paused); Unsupported for a box with volumes (QEMU cannot save memory a file server shares).
   */
  async pause(): Promise<void> {
    await this.guard('pausing', () => this.svc.lifecycle.pause(this.id.asStr()));
  }

  /**
   * Resumes a paused box: its saved VM is restored (the clock set to now, the entropy pool reseeded), its published
   * ports bound again (the same host ports: one taken meanwhile is a Network error and the box stays paused), and
   * its saved files deleted. InvalidState unless the box is paused (idempotent when running).
   */
  async resume(): Promise<void> {
    await this.guard('resuming', async () => {
      const rec = this.record('resume');
      if (rec.status === 'running') return;
      if (rec.status !== 'paused') throw boxliteError('InvalidState', `cannot resume box ${rec.id}: it is ${rec.status}, not paused; start() starts a stopped box`);
      await this.svc.lifecycle.start(rec.id);
    });
  }

  /**
   * New boxes that continue from this box's running state at this instant (a running box keeps running; a paused
   * one stays paused): every process, its memory and its disk as they were. Each fork has its own id, hostname,
   * disk (a copy), fresh entropy and published host ports (picked anew); their RAM is one saved file mapped
   * copy-on-write, so pages none of them writes are shared. Returns them running. Names must be unused.
   */
  async fork(options: ForkOptions = {}): Promise<LiteBox[]> {
    return this.guard('forking', async () => {
      const ids = await forkBox(this.svc, this.id.asStr(), options);
      return ids.map((id) => new LiteBox(BoxID.parse(id)!, this.svc.store.get(id)?.name, this.svc));
    });
  }

  /**
   * Writes the box to one file (`path`, conventionally `.boxlite`): its options, its disks (compressed qcow2) and,
   * when paused, its saved memory, every piece checksummed. `runtime.import()` brings it back, on this machine or
   * another. The box must be stopped, configured or paused (InvalidState otherwise: stop or pause it first).
   */
  async export(path: string): Promise<void> {
    await this.guard('exporting', () => exportBox(this.svc, this.id.asStr(), path));
  }

  /** Counters, stage timings, the VM's CPU and memory use, and what its network policy refused. */
  async metrics(): Promise<BoxMetrics> {
    const rec = this.record('get metrics of');
    return collectBoxMetrics(rec, this.svc.lifecycle.session(rec.id), this.svc.homeDir);
  }

  /**
   * Changes what the box may reach (see NetworkPolicy), from any process, live while it runs: the next connection
   * follows the new policy. Persisted; `info().network` shows it. A box created with egress `none` has no network
   * device, so it cannot get one live (nor can a running box lose its device): stop it first.
   */
  async updateNetwork(policy: NetworkPolicy): Promise<void> {
    await this.guard('updating the network of', () => this.svc.lifecycle.updateNetwork(this.id.asStr(), policy));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  // Every failure leaves as a BoxliteError saying which box and what (a full disk as Storage).
  private guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return guarded(`${what} box ${this.id.asStr()}`, this.svc.homeDir, fn);
  }

  /** @internal This process's portal session (benchmarks measure its raw round trip). */
  get session(): ReturnType<BoxLifecycle['session']> {
    return this.svc.lifecycle.session(this.id.asStr());
  }

  private record(op: string): BoxRecord {
    const rec = this.svc.lifecycle.reconcile(this.svc.store.get(this.id.asStr()));
    if (!rec) throw boxliteError('NotFound', `cannot ${op} box ${this.id}: it does not exist (it was removed)`);
    return rec;
  }
}

/** @internal BoxInfo from a state row. */
export function toInfo(rec: BoxRecord): BoxInfo {
  const active = rec.status === 'running' || rec.status === 'stopping';
  const options = JSON.parse(rec.optionsJson) as ResolvedBoxOptions;
  return {
    id: BoxID.parse(rec.id)!, name: rec.name, status: BoxStatus.fromName(rec.status),
    createdAt: new Date(rec.createdAt), lastUpdated: new Date(rec.lastUpdated),
    pid: active && rec.vmm ? confinedProgram(rec.vmm.pid) : undefined, image: rec.image, cpus: rec.cpus, memoryMib: rec.memoryMib,
    labels: rec.labels, accelerator: rec.accelerator, kernel: timingsOf(rec)?.kernel, lastError: rec.lastError, detach: rec.detach, autoRemove: rec.autoRemove,
    ports: active && rec.portsJson ? JSON.parse(rec.portsJson) as PortForward[] : options.ports ?? [],
    security: securityOf(options),
    jail: jailRecordOf(rec),
    network: { egress: networkStateOf(rec).egress },
    config: configOf(options),
  };
}

function environment(imageEnv: ReadonlyArray<readonly [string, string]>, options: ResolvedBoxOptions, cmd: BoxCommand, user: string): string[] {
  const env = new Map<string, string>([['PATH', DEFAULT_PATH]]);
  if (user === '' || user === 'root' || user === '0' || user.startsWith('0:') || user.startsWith('root:')) env.set('HOME', '/root');
  if (cmd.isTty) env.set('TERM', 'xterm-256color');
  for (const [k, v] of imageEnv) env.set(k, v);
  for (const [k, v] of options.env) env.set(k, v);
  for (const [k, v] of cmd.envVars) env.set(k, v);
  return [...env].map(([k, v]) => `${k}=${v}`);
}
