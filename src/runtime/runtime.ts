// BoxliteRuntime: the entry point that owns a home dir and creates, finds and removes boxes.
import fs from 'node:fs';
import path from 'node:path';
import { asBoxliteError, boxliteError, guarded } from '../errors.js';
import { ImageStore, prepareImageRootfs } from '../images/index.js';
import { BoxStore } from '../state/box-store.js';
import { openStateDb, type StateDb } from '../state/db.js';
import { runtimeIdentity } from '../state/process-identity.js';
import type { VmmDriver } from '../vmm/driver.js';
import { QemuDriver } from '../vmm/qemu/process.js';
import { LiteBox, toInfo } from './box.js';
import { BoxID, ContainerID } from './ids.js';
import { BoxLifecycle } from './lifecycle.js';
import type { ForkOptions } from './call-options.js';
import { importBox } from './box-export.js';
import { resolveBoxOptions, resolveHomeDir, snapshotsEnabled, validateBoxName, type BoxliteOptions, type BoxOptions } from './options.js';
import { resolveRuntimeOptions, type ResolvedRuntimeOptions } from './runtime-options.js';
import { TemplateStore } from './templates.js';
import { GuestCache } from './guest-cache.js';
import { recover, type RecoveryReport } from './recovery.js';
import type { BoxInfo } from './status.js';
import type { CreateOptions } from './call-options.js';
import { throwIfAborted } from '../util/abort.js';
import { cloneBox } from './clone.js';

/** Runtime-wide counters over the home dir (the spec's RuntimeMetrics). */
export interface RuntimeMetrics {
  boxesCreatedTotal: number;
  boxesFailedTotal: number;
  numRunningBoxes: number;
  totalCommandsRun: number;
  totalRunErrors: number;
}

let defaultRuntime: BoxliteRuntime | undefined;

/**
 * The BoxLite runtime: a home dir (`~/.boxlite` by default) holding a database of boxes, their disks, and the
 * guest kernel. Several runtimes — in this process or others — may use one home dir at once.
 *
 * @example
 * ```ts
 * await using runtime = BoxliteRuntime.withDefaults();
 * const box = await runtime.create({ rootfs: { rootfsPath: './rootfs' } });
 * const run = await box.run(new BoxCommand('echo').arg('hello'));
 * for await (const line of run.stdout()) console.log(line);
 * console.log((await run.wait()).exitCode);
 * ```
 */
export class BoxliteRuntime implements AsyncDisposable {
  /** The absolute home dir. */
  readonly homeDir: string;
  /** Registries tried for unqualified image names. */
  readonly imageRegistries: readonly string[];
  /** What recovery found and fixed when this runtime opened. */
  readonly recovery: RecoveryReport;
  private readonly options: ResolvedRuntimeOptions;
  /** The machine-wide cache of guest artifacts (kernel, initramfs, agent, jailer) this runtime boots from and builds into. */
  readonly cacheDir: string;
  private readonly db: StateDb;
  private readonly store: BoxStore;
  private readonly lifecycle: BoxLifecycle;
  private imageStore: ImageStore | undefined;
  private closed = false;

  /**
   * Opens the home dir (`options.homeDir`, else `BOXLITE_HOME`, else `~/.boxlite`), migrating and recovering its state.
   * Rejects bad options with InvalidArgument naming the option.
   */
  constructor(options?: BoxliteOptions);
  /** @internal With another VMM driver. */
  constructor(options: BoxliteOptions | undefined, driver: VmmDriver);
  constructor(options: BoxliteOptions = {}, driver: VmmDriver = new QemuDriver()) {
    this.options = resolveRuntimeOptions(options);
    this.homeDir = resolveHomeDir(options.homeDir);
    this.imageRegistries = [...this.options.imageRegistries];
    try {
      for (const d of ['boxes', 'tmp']) fs.mkdirSync(path.join(this.homeDir, d), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw boxliteError('Storage', `cannot use home dir ${this.homeDir}: ${(err as Error).message}; pass another homeDir or set BOXLITE_HOME`, err);
    }
    this.db = openStateDb(this.homeDir);
    this.store = new BoxStore(this.db);
    const guest = new GuestCache({ ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}), ...(options.kernel ? { kernel: options.kernel } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
    this.cacheDir = guest.cacheDir;
    const templates = snapshotsEnabled(options.snapshots) ? new TemplateStore(this.homeDir, driver, guest) : undefined;
    this.lifecycle = new BoxLifecycle(this.store, driver, this.homeDir, runtimeIdentity(), (ref, signal) => prepareImageRootfs(this.images, ref, signal ? { signal } : {}), templates, guest);
    try {
      this.recovery = recover(this.homeDir, this.store, this.lifecycle);
    } catch (err) {
      this.db.close();
      throw asBoxliteError(err, `recovering the boxes of ${this.homeDir}`, this.homeDir);
    }
  }

  /** A runtime with default options. */
  static withDefaults(): BoxliteRuntime {
    return new BoxliteRuntime();
  }

  /** The process-wide default runtime, created with default options on first use. */
  static defaultRuntime(): BoxliteRuntime {
    defaultRuntime ??= new BoxliteRuntime();
    return defaultRuntime;
  }

  /** The default runtime if it has been created or initialised, else undefined. */
  static tryDefaultRuntime(): BoxliteRuntime | undefined {
    return defaultRuntime;
  }

  /** Initialises the default runtime with `options`; InvalidState if it already exists. */
  static initDefaultRuntime(options: BoxliteOptions): void {
    if (defaultRuntime) {
      throw boxliteError('InvalidState', `the default runtime is already initialized (home ${defaultRuntime.homeDir}); call initDefaultRuntime() once, before any defaultRuntime() call`);
    }
    defaultRuntime = new BoxliteRuntime(options);
  }

  /**
   * Creates a box: persisted as Configured, no VM yet. `name` must be unique in the home dir.
   * Rejects with InvalidArgument for bad options, AlreadyExists for a taken name, and with an AbortError (no box
   * created) when `opts.signal` has aborted.
   */
  async create(options: BoxOptions = {}, name?: string, opts: CreateOptions = {}): Promise<LiteBox> {
    const what = `creating box${name ? ` ${JSON.stringify(name)}` : ''}`;
    return guarded(what, this.homeDir, async () => {
      throwIfAborted(opts.signal, what);
      return this.createBox(options, name);
    });
  }

  private createBox(options: BoxOptions, name: string | undefined): LiteBox {
    this.assertOpen();
    const o = resolveBoxOptions(options);
    validateBoxName(name);
    const id = BoxID.generate();
    const now = Date.now();
    this.store.insert({
      id: id.asStr(), name, status: 'configured', optionsJson: JSON.stringify(o),
      image: 'image' in o.rootfs ? o.rootfs.image : o.rootfs.rootfsPath, cpus: o.cpus, memoryMib: o.memoryMib, labels: o.labels,
      createdAt: now, lastUpdated: now, vmm: undefined, bootId: undefined, containerId: ContainerID.generate().asStr(),
      accelerator: undefined, lastError: undefined, detach: o.detach, autoRemove: o.autoRemove, owner: undefined, lockOwner: undefined,
      timingsJson: undefined, imageDigest: undefined, imageConfigJson: undefined, portsJson: undefined, jailJson: undefined, networkJson: undefined, commandsRun: 0, runErrors: 0, bytesSent: 0, bytesReceived: 0,
    });
    this.store.bump('boxes_created');
    return this.handle(id.asStr(), name);
  }

  /**
   * Forks the box with this id or name (running or paused) into `count` new running boxes that continue from its
   * state at this instant; see `LiteBox.fork`. NotFound when there is no such box.
   */
  async fork(idOrName: string, options: ForkOptions = {}): Promise<LiteBox[]> {
    this.assertOpen();
    const box = await this.get(idOrName);
    if (!box) throw boxliteError('NotFound', `cannot fork box ${JSON.stringify(idOrName)}: no box has that id or name`);
    return box.fork(options);
  }

  /**
   * Makes a box from a file `box.export()` wrote: a new id, `name` or the exported box's name, stopped or paused as
   * it was exported (a paused one resumes with its processes). InvalidArgument for a damaged file (naming it),
   * InvalidState when its saved memory needs another QEMU or agent version, AlreadyExists for a taken name.
   */
  async import(archivePath: string, name?: string): Promise<LiteBox> {
    this.assertOpen();
    return guarded(`importing ${archivePath}`, this.homeDir, async () => {
      const made = await importBox({ store: this.store, lifecycle: this.lifecycle, homeDir: this.homeDir }, archivePath, name);
      return this.handle(made.id, made.name);
    });
  }

  /** The box with this id, unique id prefix (4+ characters), or name; undefined when there is none. */
  async get(idOrName: string): Promise<LiteBox | undefined> {
    this.assertOpen();
    const rec = this.lifecycle.reconcile(this.store.find(idOrName));
    return rec && this.handle(rec.id, rec.name);
  }

  /**
   * Clones a stopped (or configured) box: a new Configured box named `name`, with the same options, whose disk
   * starts as a copy of the source's that shares the unchanged blocks (a reflink, or qcow2 overlays on a frozen
   * layer); the two then diverge independently. Snapshots are not copied. NotFound for no such box, InvalidState
   * when it is running (stop it first), InvalidArgument or AlreadyExists for the name, Storage for a full disk.
   */
  async clone(idOrName: string, name?: string): Promise<LiteBox> {
    return guarded(`cloning box ${JSON.stringify(idOrName)}`, this.homeDir, async () => {
      this.assertOpen();
      const rec = this.lifecycle.reconcile(this.store.find(idOrName));
      if (!rec) throw boxliteError('NotFound', `cannot clone box ${JSON.stringify(idOrName)}: there is no box with that id or name`);
      const made = await cloneBox(this.store, this.lifecycle, rec.id, name);
      this.store.bump('boxes_created');
      return this.handle(made.id, made.name);
    });
  }

  /** Info of the box with this id or name, without a handle. */
  async getInfo(idOrName: string): Promise<BoxInfo | undefined> {
    this.assertOpen();
    const rec = this.lifecycle.reconcile(this.store.find(idOrName));
    return rec && toInfo(rec);
  }

  /** Info of every box, oldest first. */
  async listInfo(): Promise<BoxInfo[]> {
    this.assertOpen();
    return this.store.list().map((r) => this.lifecycle.reconcile(r)).filter((r) => r !== undefined).map(toInfo);
  }

  /** True when a box with this id, id prefix or name exists. */
  async exists(idOrName: string): Promise<boolean> {
    return (await this.getInfo(idOrName)) !== undefined;
  }

  /** Removes a box and its files. An active box needs `force` (it is stopped first). NotFound if there is none. */
  async remove(idOrName: string, force = false): Promise<void> {
    await guarded(`removing box ${JSON.stringify(idOrName)}`, this.homeDir, async () => {
      this.assertOpen();
      const rec = this.store.find(idOrName);
      if (!rec) throw boxliteError('NotFound', `no box with id or name ${JSON.stringify(idOrName)}`);
      await this.lifecycle.remove(rec.id, force);
    });
  }

  /** Runtime-wide counters of this home dir. */
  async metrics(): Promise<RuntimeMetrics> {
    const c = this.store.counters();
    const running = (await this.listInfo()).filter((i) => i.status.isActive()).length;
    return {
      boxesCreatedTotal: c.boxes_created ?? 0,
      boxesFailedTotal: c.boxes_failed ?? 0,
      numRunningBoxes: running,
      totalCommandsRun: c.commands_run ?? 0,
      totalRunErrors: c.run_errors ?? 0,
    };
  }

  /**
   * Stops the non-detached boxes this runtime started and detaches from the others (detached boxes keep
   * running). Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.lifecycle.close();
    } finally {
      // Even when the database failed under it (deleted, full disk), the handle is let go; its VMs die with this process.
      this.db.close();
      if (defaultRuntime === this) defaultRuntime = undefined;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The image store of this home dir (pull, list, remove, prune, load). */
  get images(): ImageStore {
    this.imageStore ??= new ImageStore({ homeDir: this.homeDir, ...this.options });
    return this.imageStore;
  }

  /** Digests of the images that boxes of this home dir use (what `images.prune()` must keep). */
  imageDigestsInUse(): Set<string> {
    return this.store.imageDigestsInUse();
  }

  private handle(id: string, name: string | undefined): LiteBox {
    return new LiteBox(BoxID.parse(id)!, name, { store: this.store, lifecycle: this.lifecycle, homeDir: this.homeDir, images: () => this.images });
  }

  private assertOpen(): void {
    if (this.closed) throw boxliteError('InvalidState', 'this runtime is closed; create a new BoxliteRuntime');
  }
}
