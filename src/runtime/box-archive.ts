// The `.boxlite` export file: a tar of compressed, checksummed pieces (disks, saved VM) and, last, box.json naming them.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { boxliteError, messageOf } from '../errors.js';
import type { SavedVmRecord } from './saved-vm.js';
import type { DiskFormat } from '../vmm/config.js';
import { convertDisk, qcow2Info } from '../vmm/qemu/img.js';

/** Bumped when the file's layout changes; an import refuses others with a clear message. */
export const ARCHIVE_FORMAT = 1;
/** The pieces an archive may hold, and how each is packed. */
export const ARCHIVE_PIECES = {
  'upper.qcow2': 'disk',
  'base.qcow2': 'disk',
  'saved-state.gz': 'gzip',
  'saved-ram.gz': 'gzip',
} as const;
export type PieceName = keyof typeof ARCHIVE_PIECES;
/** The manifest's entry name: last in the tar, so it can hold every piece's checksum. */
export const MANIFEST = 'box.json';

/** What `box.json` holds. */
export interface ArchiveManifest {
  format: number;
  exportedAtMs: number;
  box: {
    name: string | undefined;
    status: 'stopped' | 'paused';
    optionsJson: string;
    image: string;
    labels: Record<string, string>;
    imageDigest: string | undefined;
    imageConfigJson: string | undefined;
    networkJson: string | undefined;
  };
  /** The saved VM of a paused box (its memory). */
  saved: SavedVmRecord | undefined;
  /** Each piece's size in the archive and SHA-256 (hex). */
  pieces: Partial<Record<PieceName, { bytes: number; sha256: string }>>;
}

/** A piece to pack: its name and the file it comes from (a disk: with its format, a qcow2 read with its chain). */
export interface PieceSource {
  name: PieceName;
  file: string;
  format?: DiskFormat;
}

/**
 * Writes the archive to `target` (through a temp name, renamed when complete): each piece packed into `work` first
 * (a disk as a compressed qcow2 image, which skips holes; other files gzip'd), then streamed into the tar with its
 * checksum, and the manifest last.
 */
export async function writeArchive(target: string, work: string, sources: readonly PieceSource[], manifest: Omit<ArchiveManifest, 'pieces' | 'format' | 'exportedAtMs'>): Promise<void> {
  const tmp = `${target}.partial`;
  const pieces: ArchiveManifest['pieces'] = {};
  const pack = tar.pack();
  const out = pipeline(pack, fs.createWriteStream(tmp, { mode: 0o600 }));
  out.catch(() => undefined);
  try {
    for (const s of sources) {
      const packed = path.join(work, s.name);
      await packPiece(s, packed);
      const bytes = (await fs.promises.stat(packed)).size;
      const hash = createHash('sha256');
      const entry = pack.entry({ name: s.name, size: bytes, mode: 0o600 });
      const source = fs.createReadStream(packed);
      source.on('data', (c) => hash.update(c as Buffer));
      await pipeline(source, entry);
      pieces[s.name] = { bytes, sha256: hash.digest('hex') };
      await fs.promises.rm(packed, { force: true });
    }
    const body = JSON.stringify({ format: ARCHIVE_FORMAT, exportedAtMs: Date.now(), ...manifest, pieces } satisfies ArchiveManifest, null, 1);
    pack.entry({ name: MANIFEST, mode: 0o600 }, body);
    pack.finalize();
    await out;
    await fs.promises.rename(tmp, target);
  } catch (err) {
    pack.destroy();
    await fs.promises.rm(tmp, { force: true });
    throw boxliteError(/ENOSPC|No space/.test(messageOf(err)) ? 'Storage' : 'Engine', `exporting to ${target} failed: ${messageOf(err)}`, err);
  }
}

// One piece into its packed form.
async function packPiece(s: PieceSource, packed: string): Promise<void> {
  if (ARCHIVE_PIECES[s.name] === 'disk') {
    await convertDisk({ path: s.file, format: s.format ?? 'raw' }, packed, 'qcow2', { compress: true });
    return;
  }
  await pipeline(fs.createReadStream(s.file, { highWaterMark: 1024 * 1024 }), zlib.createGzip({ level: 1 }), fs.createWriteStream(packed, { mode: 0o600 }));
}

/** Unpacks a piece written by packPiece into `file` (a disk: a sparse raw image; otherwise the gunzipped bytes). */
export async function unpackPiece(name: PieceName, packed: string, file: string): Promise<void> {
  if (ARCHIVE_PIECES[name] === 'disk') {
    // The piece came from another machine: it must be a plain qcow2 with no backing file, or it is refused.
    const info = await qcow2Info(packed);
    if (info.format !== 'qcow2' || info['backing-filename']) throw boxliteError('InvalidArgument', `the disk ${name} is not a self-contained qcow2 image; the export file is damaged or not one boxlite made`);
    await convertDisk({ path: packed, format: 'qcow2' }, file, 'raw');
    return;
  }
  await pipeline(fs.createReadStream(packed), zlib.createGunzip(), fs.createWriteStream(file, { mode: 0o600 }));
}
