// SimpleBox: a box made on first use from its options, with one-call commands; disposing it removes the box.
import { boxliteError } from '../errors.js';
import type { LiteBox } from '../runtime/box.js';
import type { BoxCommand } from '../runtime/command.js';
import type { BufferExecOptions, CommandResult, ExecOptions, TextExecOptions } from '../runtime/exec-options.js';
import type { Execution } from '../runtime/execution.js';
import type { BoxOptions } from '../runtime/options.js';
import { BoxliteRuntime } from '../runtime/runtime.js';
import type { BoxFs } from '../files/box-fs.js';
import type { CopyInOptions, CopyOutOptions, CopyResult } from '../files/types.js';
import type { BoxInfo } from '../runtime/status.js';
import type { WaitForPortOptions } from '../runtime/wait-for-port.js';

/** Options of a SimpleBox: the box's options, plus where to create it. */
export interface SimpleBoxOptions extends BoxOptions {
  /** Shorthand for `rootfs: { image }` (as upstream's `SimpleBox(image=...)`). */
  image?: string;
  /** The runtime to create the box in (default `BoxliteRuntime.defaultRuntime()`). It is not closed with the box. */
  runtime?: BoxliteRuntime;
  /** The box's name (unique in the home dir). */
  name?: string;
}

/**
 * A box for running commands without managing its lifecycle: created (and booted) on first use, removed
 * (stopped first if running) by `close()` or `await using`, whatever its `autoRemove`.
 *
 * @example
 * ```ts
 * await using box = new SimpleBox({ image: 'python:3.11-slim' });
 * const r = await box.exec('python3', ['-c', 'print(6 * 7)']);
 * console.log(r.stdout, r.exitCode);   // "42\n" 0
 * ```
 */
export class SimpleBox implements AsyncDisposable {
  private runtimeInUse: BoxliteRuntime | undefined;
  private readonly boxOptions: BoxOptions;
  private readonly name: string | undefined;
  private creating: Promise<LiteBox> | undefined;
  private box: LiteBox | undefined;
  private closed: Promise<void> | undefined;

  constructor(options: SimpleBoxOptions = {}) {
    const { image, runtime, name, ...boxOptions } = options;
    if (image !== undefined) {
      if (boxOptions.rootfs !== undefined) throw boxliteError('InvalidArgument', 'give either image or rootfs to SimpleBox, not both');
      boxOptions.rootfs = { image };
    }
    this.boxOptions = boxOptions;
    this.name = name;
    this.runtimeInUse = runtime;
  }

  /** A SimpleBox whose box is created and booted now, so a bad image or option fails here. */
  static async start(options: SimpleBoxOptions = {}): Promise<SimpleBox> {
    const box = new SimpleBox(options);
    try {
      await (await box.liteBox()).start();
    } catch (err) {
      await box.close().catch(() => undefined);
      throw err;
    }
    return box;
  }

  /** The box's id once created (undefined before first use). */
  get id(): string | undefined {
    return this.box?.id.asStr();
  }

  /** The underlying LiteBox, created on first call (every other method calls this). */
  liteBox(): Promise<LiteBox> {
    if (this.closed) return Promise.reject(boxliteError('InvalidState', `this SimpleBox${this.id ? ` (box ${this.id})` : ''} is closed; create a new one`));
    this.creating ??= this.runtime.create(this.boxOptions, this.name).then((box) => { this.box = box; return box; }, (err: unknown) => {
      this.creating = undefined; // a failed create can be retried
      throw err;
    });
    return this.creating;
  }

  /** Runs a program to completion: see `LiteBox.exec()`. */
  exec(program: string, args?: readonly string[], options?: TextExecOptions): Promise<CommandResult>;
  exec(program: string, args: readonly string[], options: BufferExecOptions): Promise<CommandResult<Buffer>>;
  exec(program: string, options: BufferExecOptions): Promise<CommandResult<Buffer>>;
  exec(program: string, options?: TextExecOptions): Promise<CommandResult>;
  async exec(program: string, a?: readonly string[] | ExecOptions, b?: ExecOptions): Promise<CommandResult<string | Buffer>> {
    return (await this.liteBox()).exec(program, a as readonly string[], b as TextExecOptions);
  }

  /** Runs a `/bin/sh -c` script to completion: see `LiteBox.sh()`. */
  sh(script: string, options?: TextExecOptions): Promise<CommandResult>;
  sh(script: string, options: BufferExecOptions): Promise<CommandResult<Buffer>>;
  async sh(script: string, options: ExecOptions = {}): Promise<CommandResult<string | Buffer>> {
    return (await this.liteBox()).sh(script, options as TextExecOptions);
  }

  /** Starts a command and returns its Execution, for streaming: see `LiteBox.run()`. */
  async run(command: BoxCommand | string): Promise<Execution> {
    return (await this.liteBox()).run(command);
  }

  /** The host port of a published guest port: see `LiteBox.hostPort()`. */
  async hostPort(guestPort: number, protocol: 'tcp' | 'udp' = 'tcp'): Promise<number> {
    return (await this.liteBox()).hostPort(guestPort, protocol);
  }

  /** Waits until a published guest port is served: see `LiteBox.waitForPort()`. */
  async waitForPort(guestPort: number, options?: WaitForPortOptions): Promise<void> {
    return (await this.liteBox()).waitForPort(guestPort, options);
  }

  /** The box's info (creating the box if needed, without booting it). */
  async info(): Promise<BoxInfo> {
    return (await this.liteBox()).info();
  }

  /** The files of the box (creating and booting it if needed): see `LiteBox.fs`. */
  async fs(): Promise<BoxFs> {
    return (await this.liteBox()).fs;
  }

  /** Copies a host file or tree into the box, as `docker cp`: see `LiteBox.copyIn()`. */
  async copyIn(hostPath: string, guestPath: string, options?: CopyInOptions): Promise<CopyResult> {
    return (await this.liteBox()).copyIn(hostPath, guestPath, options);
  }

  /** Copies a file or tree of the box to the host, checked as the box is hostile: see `LiteBox.copyOut()`. */
  async copyOut(guestPath: string, hostPath: string, options?: CopyOutOptions): Promise<CopyResult> {
    return (await this.liteBox()).copyOut(guestPath, hostPath, options);
  }

  /** Removes the box (stopping it first); later calls reject with InvalidState. Idempotent; the runtime stays open. */
  close(): Promise<void> {
    this.closed ??= this.removeBox();
    return this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // The default runtime is opened on first use, not by the constructor.
  private get runtime(): BoxliteRuntime {
    this.runtimeInUse ??= BoxliteRuntime.defaultRuntime();
    return this.runtimeInUse;
  }

  private async removeBox(): Promise<void> {
    const pending = this.creating;
    if (!pending) return;
    const box = await pending.catch(() => undefined);
    if (!box) return;
    const id = box.id.asStr();
    if (await this.runtime.exists(id)) await this.runtime.remove(id, true);
  }
}
