// A box's writable disk: which file it is now (raw, or a qcow2 overlay), and the chain of read-only layers it reads through.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { boxliteError } from '../errors.js';
import type { DiskFormat } from '../vmm/config.js';
import { readQcow2Header } from '../vmm/qemu/qcow2.js';
import type { BoxPaths } from './box-paths.js';

/** The writable disk of a box as its VM opens it. */
export interface WritableDisk {
  readonly path: string;
  readonly format: DiskFormat;
  /** The layers a qcow2 disk reads through, nearest first (absolute paths, all in the box's layers dir). */
  readonly backingFiles: readonly string[];
}

/** Longest chain followed: more means a loop or a damaged header. */
const MAX_CHAIN = 1000;

/**
 * Which file is the box's writable disk now, without reading it: the qcow2 overlay when there is one, else the raw
 * file; undefined before the first start. The format comes from the file's name, never from its bytes (the guest
 * writes those, and a raw disk whose guest wrote a qcow2 header must not become a chain onto host files).
 */
export function currentUpper(paths: BoxPaths): { path: string; format: DiskFormat } | undefined {
  if (fs.existsSync(paths.overlayUpperDisk)) return { path: paths.overlayUpperDisk, format: 'qcow2' };
  if (fs.existsSync(paths.upperDisk)) return { path: paths.upperDisk, format: 'raw' };
  return undefined;
}

/** The box's writable disk with its chain, or undefined when it has none yet. */
export async function writableDiskOf(paths: BoxPaths): Promise<WritableDisk | undefined> {
  const upper = currentUpper(paths);
  if (!upper) return undefined;
  return { ...upper, backingFiles: upper.format === 'qcow2' ? await chainOf(paths.layersDir, upper.path) : [] };
}

/** The format of a layer, from its name (`<id>.raw` or `<id>.qcow2`); undefined for a name that is not a layer's. */
export function layerFormat(name: string): DiskFormat | undefined {
  const m = /^[0-9a-z]{8,40}\.(raw|qcow2)$/.exec(name);
  return m ? m[1] as DiskFormat : undefined;
}

/** A new layer's file name in `format`: time-ordered, then random. */
export function newLayerName(format: DiskFormat): string {
  return `${Date.now().toString(36).padStart(9, '0')}${crypto.randomBytes(5).toString('hex')}.${format}`;
}

/** The layer a qcow2 file in `layersDir` reads through, by name; undefined when it has none. */
export async function backingOf(layersDir: string, file: string): Promise<string | undefined> {
  const { backingFile } = await readQcow2Header(file);
  if (backingFile === undefined) return undefined;
  // Our overlays name their backing file by a layer name beside them; anything else is not ours to follow.
  if (!layerFormat(backingFile)) throw boxliteError('Storage', `the disk ${file} reads through ${JSON.stringify(backingFile)}, which is not a layer of ${layersDir}; the box's disk is damaged`);
  return backingFile;
}

/** The layers (absolute paths, nearest first) a qcow2 file in `layersDir` reads through. */
export async function chainOf(layersDir: string, file: string): Promise<string[]> {
  const chain: string[] = [];
  for (let at = file; ;) {
    if (layerFormat(path.basename(at)) === 'raw') return chain;
    const next = await backingOf(layersDir, at);
    if (next === undefined) return chain;
    at = path.join(layersDir, next);
    if (chain.includes(at) || chain.length >= MAX_CHAIN) throw boxliteError('Storage', `the disk chain of ${file} loops or is longer than ${MAX_CHAIN} layers; the box's disk is damaged`);
    chain.push(at);
  }
}

/** The layer names (nearest first) that a layer `name` of `layersDir` is made of: itself and those under it. */
export async function layerChain(layersDir: string, name: string): Promise<string[]> {
  return [name, ...(await chainOf(layersDir, path.join(layersDir, name))).map((p) => path.basename(p))];
}
