// box.snapshots: named disk snapshots of a stopped box (create, list, restore, remove) over its layers dir.
import fs from 'node:fs';
import path from 'node:path';
import { boxliteError, guarded } from '../errors.js';
import { readQcow2Header } from '../vmm/qemu/qcow2.js';
import { throwIfAborted } from '../util/abort.js';
import type { BoxLifecycle } from './lifecycle.js';
import type { BoxPaths } from './box-paths.js';
import { currentUpper, layerFormat } from './disk-layers.js';
import { freezeUpper, overlayInPlace } from './disk-copy.js';
import { mergeIntoDependants, sweepLayers } from './layer-upkeep.js';
import { readIndex, validateSnapshotName, writeIndex, type SnapshotEntry } from './snapshot-index.js';

/** A disk snapshot of a box, as `box.snapshots.list()` shows it. */
export interface SnapshotInfo {
  /** Its name, unique in its box. */
  name: string;
  createdAt: Date;
  /**
   * The host disk space its own file takes (blocks really allocated). Blocks it shares with the snapshot before it
   * are not counted again; on a filesystem with reflinks, blocks shared by a reflink are counted in every file.
   */
  sizeBytes: number;
  /** The size of the disk the guest saw (the box's diskSizeGb). */
  virtualSizeBytes: number;
}

/** Options of `box.snapshots.create()`. */
export interface SnapshotCreateOptions {
  /** Gives the snapshot up before it is made (AbortError, nothing changed). */
  signal?: AbortSignal;
}

/**
 * The disk snapshots of one box: its writable disk (what the box wrote over its image or rootfs) frozen under a name,
 * to go back to later. Snapshots share unchanged blocks with the disk they came from. They are made, restored and
 * removed while the box is stopped (or configured with a disk), and removed with the box.
 */
export class BoxSnapshots {
  /** @internal */
  constructor(private readonly boxId: string, private readonly svc: { lifecycle: BoxLifecycle; homeDir: string }) {}

  /**
   * Freezes the box's disk as snapshot `name`. The box must be stopped (or configured and started once before):
   * InvalidState otherwise; InvalidArgument for a bad name, AlreadyExists for a name the box already has, Storage
   * when the host disk is full (the box is left as it was).
   */
  async create(name: string, opts: SnapshotCreateOptions = {}): Promise<SnapshotInfo> {
    const what = `creating snapshot ${JSON.stringify(name)} of box ${this.boxId}`;
    return guarded(what, this.svc.homeDir, async () => {
      validateSnapshotName(name);
      throwIfAborted(opts.signal, what);
      return this.svc.lifecycle.whileIdle(this.boxId, `snapshot the disk of`, ['configured', 'stopped'], async () => {
        throwIfAborted(opts.signal, what);
        const paths = this.paths();
        await sweepLayers(paths);
        if (!currentUpper(paths)) throw boxliteError('InvalidState', `cannot snapshot box ${this.boxId}: it has no disk yet (a box gets its disk at its first start); start it once first`);
        const entries = readIndex(paths.layersDir);
        if (entries.some((e) => e.name === name)) throw boxliteError('AlreadyExists', `box ${this.boxId} already has a snapshot named ${JSON.stringify(name)}; pick another name or remove that snapshot first`);
        const layer = await freezeUpper(paths);
        const entry = { name, layer, createdAtMs: Math.max(Date.now(), (entries.at(-1)?.createdAtMs ?? 0) + 1) };
        await writeIndex(paths.layersDir, [...entries, entry]);
        return infoOf(paths, entry);
      });
    });
  }

  /** The box's snapshots, oldest first. */
  async list(): Promise<SnapshotInfo[]> {
    return guarded(`listing the snapshots of box ${this.boxId}`, this.svc.homeDir, async () => {
      const paths = this.paths();
      // Read without the box's lock: a removal in another process may delete a layer between the index and its stat.
      for (let attempt = 1; ; attempt++) {
        try {
          return await Promise.all(readIndex(paths.layersDir).map((e) => infoOf(paths, e)));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw err;
        }
      }
    });
  }

  /**
   * Puts the box's disk back to snapshot `name` (what was written since is dropped; the snapshot stays). The box
   * must be stopped: InvalidState otherwise; NotFound for a name it has not. The new disk is made beside the old one
   * and renamed into place, so a failure (Storage for a full host disk) leaves the box exactly as it was.
   */
  async restore(name: string): Promise<void> {
    await guarded(`restoring snapshot ${JSON.stringify(name)} of box ${this.boxId}`, this.svc.homeDir, async () => {
      validateSnapshotName(name);
      await this.svc.lifecycle.whileIdle(this.boxId, `restore a snapshot of`, ['configured', 'stopped'], async () => {
        const paths = this.paths();
        await sweepLayers(paths);
        const entry = this.find(paths, name);
        await overlayInPlace(paths, entry.layer);
        await sweepLayers(paths); // layers only the dropped disk read through
      });
    });
  }

  /**
   * Removes snapshot `name`. The disk and the snapshots made after it that read through it get its blocks merged in
   * first, each file under a temp name renamed into place, so every other snapshot stays restorable. The box must be
   * stopped: InvalidState otherwise; NotFound for a name it has not.
   */
  async remove(name: string): Promise<void> {
    await guarded(`removing snapshot ${JSON.stringify(name)} of box ${this.boxId}`, this.svc.homeDir, async () => {
      validateSnapshotName(name);
      await this.svc.lifecycle.whileIdle(this.boxId, `remove a snapshot of`, ['configured', 'stopped'], async () => {
        const paths = this.paths();
        await sweepLayers(paths);
        const entry = this.find(paths, name);
        await mergeIntoDependants(paths, entry.layer);
        await writeIndex(paths.layersDir, readIndex(paths.layersDir).filter((e) => e.name !== name));
        await sweepLayers(paths);
      });
    });
  }

  private find(paths: BoxPaths, name: string): SnapshotEntry {
    const entries = readIndex(paths.layersDir);
    const entry = entries.find((e) => e.name === name);
    if (!entry) throw boxliteError('NotFound', `box ${this.boxId} has no snapshot named ${JSON.stringify(name)} (it has ${entries.length ? entries.map((e) => JSON.stringify(e.name)).join(', ') : 'none'})`);
    return entry;
  }

  private paths(): BoxPaths {
    return this.svc.lifecycle.paths(this.boxId);
  }
}

async function infoOf(paths: BoxPaths, e: SnapshotEntry): Promise<SnapshotInfo> {
  const file = path.join(paths.layersDir, e.layer);
  const st = await fs.promises.stat(file);
  const virtualSizeBytes = layerFormat(e.layer) === 'raw' ? st.size : (await readQcow2Header(file)).virtualSizeBytes;
  return { name: e.name, createdAt: new Date(e.createdAtMs), sizeBytes: st.blocks * 512, virtualSizeBytes };
}
