// BoxliteRuntime: the entry point that owns a home dir and creates, finds and removes boxes.
import fs from 'node:fs';
import path from 'node:path';
import { boxliteError } from '../errors.js';
import type { VmmDriver } from '../vmm/driver.js';
import { QemuDriver } from '../vmm/qemu/process.js';
import { LiteBox, type BoxContext } from './box.js';
import { BoxID } from './ids.js';
import { resolveBoxOptions, resolveHomeDir, validateBoxName, type BoxliteOptions, type BoxOptions } from './options.js';
import type { BoxInfo } from './status.js';

/** Runtime-wide counters (the spec's RuntimeMetrics). */
export interface RuntimeMetrics {
  boxesCreatedTotal: number;
  boxesFailedTotal: number;
  numRunningBoxes: number;
  totalCommandsRun: number;
  totalRunErrors: number;
}

/**
 * The BoxLite runtime: owns a home dir (`~/.boxlite` by default) and the boxes in it.
 *
 * @example
 * ```ts
 * await using runtime = BoxliteRuntime.withDefaults();
 * const box = await runtime.create({ rootfs: { rootfsPath: './rootfs' } });
 * const run = await box.run(new BoxCommand('echo').arg('hello'));
 * for await (const line of run.stdout()!) console.log(line);
 * console.log((await run.wait()).exitCode);
 * ```
 */
export class BoxliteRuntime implements AsyncDisposable {
  /** The absolute home dir. */
  readonly homeDir: string;
  /** Registries tried for unqualified image names. */
  readonly imageRegistries: readonly string[];
  private readonly boxes = new Map<string, LiteBox>();
  private readonly driver: VmmDriver = new QemuDriver();
  private readonly counters = { commandsRun: 0, runErrors: 0, boxesFailed: 0, boxesCreated: 0 };
  private closed = false;

  /** A runtime over `options.homeDir` (default `BOXLITE_HOME`, else `~/.boxlite`). */
  constructor(options: BoxliteOptions = {}) {
    this.homeDir = resolveHomeDir(options.homeDir);
    this.imageRegistries = [...(options.imageRegistries ?? [])];
    try {
      for (const d of ['boxes', 'tmp']) fs.mkdirSync(path.join(this.homeDir, d), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw boxliteError('Storage', `cannot use home dir ${this.homeDir}: ${(err as Error).message}; pass another homeDir or set BOXLITE_HOME`, err);
    }
  }

  /** A runtime with default options. */
  static withDefaults(): BoxliteRuntime {
    return new BoxliteRuntime();
  }

  /**
   * Creates a box (Configured: persisted, no VM yet). `name` must be unique.
   * Rejects with InvalidArgument for bad options, AlreadyExists for a taken name.
   */
  async create(options: BoxOptions = {}, name?: string): Promise<LiteBox> {
    this.assertOpen();
    const resolved = resolveBoxOptions(options);
    validateBoxName(name);
    if (name !== undefined && [...this.boxes.values()].some((b) => b.name === name)) {
      throw boxliteError('AlreadyExists', `a box named ${JSON.stringify(name)} already exists; pick another name or remove it first`);
    }
    const id = BoxID.generate();
    const ctx: BoxContext = {
      homeDir: this.homeDir,
      boxDir: path.join(this.homeDir, 'boxes', id.asStr()),
      driver: this.driver,
      counters: this.counters,
      onRemoved: (b) => this.boxes.delete(b.id.asStr()),
    };
    const box = new LiteBox(id, name, resolved, new Date(), ctx);
    this.boxes.set(id.asStr(), box);
    this.counters.boxesCreated++;
    return box;
  }

  /** The box with this id, unique id prefix, or name; undefined when there is none. */
  async get(idOrName: string): Promise<LiteBox | undefined> {
    return this.find(idOrName);
  }

  /** Info of the box with this id or name, without a handle. */
  async getInfo(idOrName: string): Promise<BoxInfo | undefined> {
    return this.find(idOrName)?.info();
  }

  /** Info of every box, oldest first. */
  async listInfo(): Promise<BoxInfo[]> {
    return [...this.boxes.values()].map((b) => b.info());
  }

  /** True when a box with this id or name exists. */
  async exists(idOrName: string): Promise<boolean> {
    return this.find(idOrName) !== undefined;
  }

  /** Removes a box and its files. A running box needs `force` (it is stopped first). */
  async remove(idOrName: string, force = false): Promise<void> {
    const box = this.find(idOrName);
    if (!box) throw boxliteError('NotFound', `no box with id or name ${JSON.stringify(idOrName)}`);
    const status = box.info().status;
    if (!status.canRemove()) {
      if (!force) throw boxliteError('InvalidState', `cannot remove box ${box.id}: it is ${status.name}; stop it first or pass force`);
      await box.stop();
    }
    if (!box.isRemoved) await box.destroyFiles();
    this.boxes.delete(box.id.asStr());
  }

  /** Runtime-wide counters. */
  async metrics(): Promise<RuntimeMetrics> {
    return {
      boxesCreatedTotal: this.counters.boxesCreated,
      boxesFailedTotal: this.counters.boxesFailed,
      numRunningBoxes: [...this.boxes.values()].filter((b) => b.info().status.isActive()).length,
      totalCommandsRun: this.counters.commandsRun,
      totalRunErrors: this.counters.runErrors,
    };
  }

  /** Stops every box that is not detached. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.boxes.values()].map((b) => b.stop().catch(() => undefined)));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private find(idOrName: string): LiteBox | undefined {
    const exact = this.boxes.get(idOrName.toUpperCase());
    if (exact) return exact;
    const byName = [...this.boxes.values()].find((b) => b.name === idOrName);
    if (byName) return byName;
    const prefix = idOrName.toUpperCase();
    const matches = prefix.length >= 4 ? [...this.boxes.values()].filter((b) => b.id.asStr().startsWith(prefix)) : [];
    if (matches.length > 1) throw boxliteError('InvalidArgument', `id prefix ${JSON.stringify(idOrName)} matches ${matches.length} boxes; give more characters`);
    return matches[0];
  }

  private assertOpen(): void {
    if (this.closed) throw boxliteError('InvalidState', 'this runtime is closed; create a new BoxliteRuntime');
  }
}
