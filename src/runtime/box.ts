// LiteBox: the handle of one box — start, run, stop — enforcing the lifecycle state machine.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { BoxliteError, boxliteError } from '../errors.js';
import type { PortalClient } from '../portal/client.js';
import type { VmmDriver } from '../vmm/driver.js';
import { bootBox, describeExit, type BootedBox, type StageTimings } from './boot.js';
import { BoxCommand } from './command.js';
import { Execution, startExecution, type ExecutionHost } from './execution.js';
import type { BoxID } from './ids.js';
import type { ResolvedBoxOptions } from './options.js';
import { BoxStatus, type BoxInfo } from './status.js';

/** How long `stop()` waits for the guest to power off before killing the VM. */
export const STOP_GRACE_MS = 10_000;

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** @internal What a box needs from its runtime. */
export interface BoxContext {
  homeDir: string;
  boxDir: string;
  driver: VmmDriver;
  onRemoved(box: LiteBox): void;
  counters: { commandsRun: number; runErrors: number; boxesFailed: number };
}

/**
 * A box: an isolated Linux VM you run commands in. Get one from `runtime.create()`.
 *
 * Lifecycle: Configured (no VM yet) → `start()` or the first `run()` → Running → `stop()` → Stopped, which can
 * start again. Calls in a state that does not allow them reject with `InvalidState`. `await using` stops the box.
 */
export class LiteBox implements AsyncDisposable {
  private state = BoxStatus.Configured;
  private lastUpdated = new Date();
  private booted: BootedBox | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private removed = false;
  private lastError: string | undefined;
  private stopRequested = false;

  /** @internal */
  constructor(
    readonly id: BoxID,
    readonly name: string | undefined,
    private readonly options: ResolvedBoxOptions,
    private readonly createdAt: Date,
    private readonly ctx: BoxContext,
  ) {}

  /** Box metadata; never starts the VM. */
  info(): BoxInfo {
    const rootfs = this.options.rootfs;
    return {
      id: this.id, name: this.name, status: this.state, createdAt: this.createdAt, lastUpdated: this.lastUpdated,
      pid: this.booted && !this.booted.vm.hasExited ? this.booted.vm.pid : undefined,
      image: 'image' in rootfs ? rootfs.image : rootfs.rootfsPath,
      cpus: this.options.cpus, memoryMib: this.options.memoryMib, labels: { ...this.options.labels },
      accelerator: this.booted?.accelerator.accelerator, lastError: this.lastError,
    };
  }

  /** Stage timings of the last start, once started. */
  get stageTimings(): StageTimings | undefined {
    return this.booted?.timings;
  }

  /** Why this box runs on KVM or TCG, once started. */
  get acceleratorReason(): string | undefined {
    return this.booted?.accelerator.reason;
  }

  /** Boots the VM. Idempotent: resolves at once when the box is already running; concurrent calls share one boot. */
  start(): Promise<void> {
    if (this.removed) return Promise.reject(this.removedError('start'));
    if (this.state === BoxStatus.Running) return Promise.resolve();
    if (this.starting) return this.starting;
    if (!this.state.canStart()) return Promise.reject(this.wrongState('start'));
    this.starting = this.boot().finally(() => { this.starting = undefined; });
    return this.starting;
  }

  /** Runs a command (a BoxCommand, or a program name), starting the box first if needed. */
  async run(command: BoxCommand | string): Promise<Execution> {
    const cmd = typeof command === 'string' ? new BoxCommand(command) : command;
    this.assertNotRemoved('run');
    if (!this.state.canRun() && !this.starting) throw this.wrongState('run');
    await this.start();
    const booted = this.booted!;
    this.ctx.counters.commandsRun++;
    const host: ExecutionHost = {
      portal: booted.portal,
      explainFailure: (err, what) => this.explainFailure(err, what),
      onExecutionEnded: (failed) => { if (failed) this.ctx.counters.runErrors++; },
    };
    return startExecution(host, this.id.asStr(), cmd.toString(), {
      argv: cmd.argv,
      env: this.environment(cmd),
      workingDir: cmd.cwd ?? this.options.workingDir,
      tty: cmd.isTty, rows: 24, cols: 80,
      timeoutMs: cmd.timeoutMs ?? 0,
    });
  }

  /**
   * Stops the box: the guest syncs and powers off; after STOP_GRACE_MS the VM is killed. The box can be started
   * again, unless it was created with `autoRemove` (the default), in which case it is removed. Idempotent.
   */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    if (this.removed || this.state === BoxStatus.Stopped || this.state === BoxStatus.Configured) return Promise.resolve();
    this.stopping = this.shutdown().finally(() => { this.stopping = undefined; });
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** @internal Deletes the box's files; the box must not be active. */
  async destroyFiles(): Promise<void> {
    this.removed = true;
    await fs.promises.rm(this.ctx.boxDir, { recursive: true, force: true });
  }

  /** @internal True once the box has been removed. */
  get isRemoved(): boolean {
    return this.removed;
  }

  private async boot(): Promise<void> {
    this.lastError = undefined;
    this.stopRequested = false;
    try {
      this.booted = await bootBox({ boxId: this.id.asStr(), homeDir: this.ctx.homeDir, boxDir: this.ctx.boxDir, options: this.options, driver: this.ctx.driver });
    } catch (err) {
      this.ctx.counters.boxesFailed++;
      this.lastError = err instanceof Error ? err.message : String(err);
      this.setState(BoxStatus.Stopped);
      throw err;
    }
    this.setState(BoxStatus.Running);
    const booted = this.booted;
    void booted.vm.exited.then((exit) => this.onVmExit(booted, describeExit(exit)));
  }

  private onVmExit(booted: BootedBox, how: string): void {
    if (this.booted !== booted) return;
    if (!this.stopRequested) {
      this.lastError = `the VM exited unexpectedly (${how})`;
      booted.portal.destroy(boxliteError('Portal', `box ${this.id} stopped unexpectedly: the VM exited (${how})`));
    }
    this.setState(BoxStatus.Stopped);
  }

  private async shutdown(): Promise<void> {
    const booted = this.booted;
    if (booted && !booted.vm.hasExited) {
      this.stopRequested = true;
      this.setState(BoxStatus.Stopping);
      if (booted.portal.isOpen) {
        await Promise.race([booted.portal.shutdown().catch(() => undefined), sleep(STOP_GRACE_MS)]);
      }
      const exited = await Promise.race([booted.vm.exited.then(() => true), sleep(STOP_GRACE_MS, false)]);
      if (!exited) await booted.vm.kill();
      booted.portal.close();
    }
    this.setState(BoxStatus.Stopped);
    if (this.options.autoRemove) {
      await this.destroyFiles();
      this.ctx.onRemoved(this);
    }
  }

  // Turns a portal failure into an error that says what happened to the VM, with its console.
  private async explainFailure(err: BoxliteError, what: string): Promise<BoxliteError> {
    const vm = this.booted?.vm;
    if (!vm || err.code === 'Run') return err;
    const exit = await Promise.race([vm.exited, sleep(2000, undefined)]);
    if (!exit) return boxliteError(err.code, `box ${this.id}: ${err.message} while ${what}`, err);
    return boxliteError('Portal', `box ${this.id} stopped while ${what}: the VM exited (${describeExit(exit)}); `
      + `last console lines (full log: ${vm.consoleLogPath}):\n${vm.consoleTail(15)}`, err);
  }

  private environment(cmd: BoxCommand): string[] {
    const env = new Map<string, string>([['PATH', DEFAULT_PATH], ['HOME', '/root']]);
    if (cmd.isTty) env.set('TERM', 'xterm-256color');
    for (const [k, v] of this.options.env) env.set(k, v);
    for (const [k, v] of cmd.envVars) env.set(k, v);
    return [...env].map(([k, v]) => `${k}=${v}`);
  }

  private setState(s: BoxStatus): void {
    this.state = s;
    this.lastUpdated = new Date();
  }

  private assertNotRemoved(op: string): void {
    if (this.removed) throw this.removedError(op);
  }

  private removedError(op: string): BoxliteError {
    return boxliteError('NotFound', `cannot ${op} box ${this.id}: it has been removed`);
  }

  private wrongState(op: string): BoxliteError {
    return new BoxliteError('InvalidState', `cannot ${op} box ${this.id}: it is ${this.state.name}`);
  }

  /** @internal For the runtime's shutdown. */
  get portal(): PortalClient | undefined {
    return this.booted?.portal;
  }
}
