// The disk snapshots of one box: `<box>/layers/snapshots.json`, naming which layer each snapshot is; written by rename.
import fs from 'node:fs';
import path from 'node:path';
import { boxliteError } from '../errors.js';
import { layerFormat } from './disk-layers.js';

/** One disk snapshot as recorded. */
export interface SnapshotEntry {
  name: string;
  /** Its layer's file name in the layers dir. */
  layer: string;
  createdAtMs: number;
}

/** What snapshot names may be (also a CLI argument, so no leading dash). */
export const SNAPSHOT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** `name` when it is a valid snapshot name; InvalidArgument saying the pattern otherwise. */
export function validateSnapshotName(name: unknown): string {
  if (typeof name !== 'string' || !SNAPSHOT_NAME_PATTERN.test(name)) {
    throw boxliteError('InvalidArgument', `snapshot name must be 1-63 characters of letters, digits, "_", "." or "-", starting with a letter or digit (${SNAPSHOT_NAME_PATTERN.source}), got ${JSON.stringify(name)}`);
  }
  return name;
}

/** The index file of a layers dir. */
export function indexPath(layersDir: string): string {
  return path.join(layersDir, 'snapshots.json');
}

/** The snapshots recorded in `layersDir`, oldest first; none when there is no index yet. */
export function readIndex(layersDir: string): SnapshotEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(indexPath(layersDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const parsed = JSON.parse(text) as { snapshots?: unknown };
  if (!Array.isArray(parsed.snapshots) || !parsed.snapshots.every(isEntry)) {
    throw boxliteError('Storage', `the snapshot index ${indexPath(layersDir)} is damaged (not a list of snapshots)`);
  }
  return [...parsed.snapshots].sort((a, b) => a.createdAtMs - b.createdAtMs);
}

/** Replaces the index with `entries`: a temp file, fsynced, renamed into place. */
export async function writeIndex(layersDir: string, entries: readonly SnapshotEntry[]): Promise<void> {
  const file = indexPath(layersDir);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fd = await fs.promises.open(tmp, 'w', 0o600);
    try {
      await fd.writeFile(JSON.stringify({ version: 1, snapshots: entries }, null, 1));
      await fd.sync();
    } finally {
      await fd.close();
    }
    await fs.promises.rename(tmp, file);
  } finally {
    await fs.promises.rm(tmp, { force: true });
  }
}

function isEntry(e: unknown): e is SnapshotEntry {
  const x = e as SnapshotEntry;
  return typeof x === 'object' && x !== null && typeof x.name === 'string' && typeof x.layer === 'string' && layerFormat(x.layer) !== undefined
    && typeof x.createdAtMs === 'number';
}
