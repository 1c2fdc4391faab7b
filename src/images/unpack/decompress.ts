// Opens a layer blob as an uncompressed tar stream: gzip (node:zlib), zstd (the `zstd -dc` CLI) or plain tar, sniffed from magic bytes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { boxliteError } from '../../errors.js';

/** The compression a layer blob uses. */
export type Compression = 'gzip' | 'zstd' | 'none';

/** Sniffs the compression from the first bytes (gzip 1f 8b, zstd 28 b5 2f fd), whatever the media type says. */
export function sniffCompression(head: Uint8Array): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** An uncompressed tar stream, and a promise that settles when the decompressor has finished cleanly (or failed). */
export interface TarSource {
  stream: Readable;
  compression: Compression;
  finished: Promise<void>;
}

/** Opens `blobPath` (the layer `digest`) for reading as a tar stream. */
export async function openLayerTar(blobPath: string, digest: string): Promise<TarSource> {
  const fh = await fs.promises.open(blobPath, 'r');
  const head = Buffer.alloc(4);
  try {
    await fh.read(head, 0, 4, 0);
  } finally {
    await fh.close();
  }
  const compression = sniffCompression(head);
  if (compression === 'zstd') return zstdStream(blobPath, digest);
  const file = fs.createReadStream(blobPath, { highWaterMark: 1024 * 1024 });
  if (compression === 'none') return { stream: file, compression, finished: Promise.resolve() };
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  file.on('error', (e) => gunzip.destroy(e));
  file.pipe(gunzip);
  const finished = new Promise<void>((resolve, reject) => {
    gunzip.on('end', resolve);
    gunzip.on('error', (e) => reject(boxliteError('Image', `layer ${digest} is not valid gzip: ${e.message}; the image is damaged: pull it again or rebuild it`, e)));
  });
  finished.catch(() => undefined);
  return { stream: gunzip, compression, finished };
}

function zstdStream(blobPath: string, digest: string): TarSource {
  const child = spawn('zstd', ['-dcq', '--', blobPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => { if (stderr.length < 4096) stderr += b.toString(); });
  const finished = new Promise<void>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT'
      ? boxliteError('Image', `layer ${digest} is zstd-compressed and the zstd CLI was not found; install zstd (\`npx boxlite setup\` does)`, e)
      : boxliteError('Image', `could not run zstd for layer ${digest}: ${e.message}`, e)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(boxliteError('Image', `zstd could not decompress layer ${digest} (${signal ?? `exit ${code}`}): ${stderr.trim()}; the image is damaged: pull it again or rebuild it`));
    });
  });
  finished.catch(() => undefined);
  return { stream: child.stdout, compression: 'zstd', finished };
}
