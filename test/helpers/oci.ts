// Builds OCI images in memory for tests: layer tars (from entry lists or directories), configs, manifests and indexes.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { MediaType } from '../../src/images/manifest.js';

/** One tar entry to write. */
export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo' | 'character-device' | 'block-device';
  data?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
}

/** `sha256:<hex>` of `data`. */
export function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A tar archive of `entries`, in order. */
export async function tarOf(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => { for await (const c of pack) chunks.push(Buffer.from(c as Uint8Array)); })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const data = e.data === undefined ? undefined : Buffer.from(e.data);
    const header = {
      name: e.name, type, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date('2024-01-02T03:04:05Z'), linkname: e.linkname, devmajor: e.devmajor, devminor: e.devminor,
      size: type === 'file' ? (data?.length ?? 0) : 0,
    };
    await new Promise<void>((resolve, reject) => {
      if (type === 'file') pack.entry(header, data ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
      else pack.entry(header, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** The entries of a directory tree (lstat, no symlink followed; hard links to an earlier path become `link` entries). */
export function entriesOfDir(root: string): TarEntry[] {
  const out: TarEntry[] = [];
  const inodes = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = path.join(root, r);
      const st = fs.lstatSync(p);
      const base = { name: r, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
      if (st.isDirectory()) { out.push({ ...base, type: 'directory' }); walk(r); continue; }
      if (st.isSymbolicLink()) { out.push({ ...base, type: 'symlink', linkname: fs.readlinkSync(p) }); continue; }
      if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? inodes.get(key) : undefined;
        if (first) { out.push({ ...base, type: 'link', linkname: first }); continue; }
        if (st.nlink > 1) inodes.set(key, r);
        out.push({ ...base, type: 'file', data: fs.readFileSync(p) });
        continue;
      }
      if (st.isFIFO()) out.push({ ...base, type: 'fifo' });
      else if (st.isCharacterDevice() || st.isBlockDevice()) {
        out.push({ ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: Math.floor(st.rdev / 256), devminor: st.rdev % 256 });
      }
    }
  };
  walk('');
  return out;
}

/** A layer blob and its descriptor fields. */
export interface Blob {
  data: Buffer;
  digest: string;
  mediaType: string;
  /** For layers: the digest of the uncompressed tar. */
  diffId?: string;
}

/** A gzip layer from a tar (or plain, with `compress: false`). */
export function layer(tarBytes: Buffer, compress = true): Blob {
  const data = compress ? gzipSync(tarBytes) : tarBytes;
  return { data, digest: sha256(data), mediaType: compress ? MediaType.OciLayerGzip : MediaType.OciLayerTar, diffId: sha256(tarBytes) };
}

/** An image ready to push: config, layers and manifest. */
export interface TestImage {
  config: Blob;
  layers: Blob[];
  manifest: Blob;
}

/** The process defaults a test image may set. */
export interface TestConfig {
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  User?: string;
}

/** An image of `layers` (bottom first) with `config`; Docker schema 2 media types with `docker: true`. */
export function image(layers: Blob[], config: TestConfig = {}, opts: { docker?: boolean; architecture?: string } = {}): TestImage {
  const configDoc = {
    architecture: opts.architecture ?? 'amd64', os: 'linux', created: '2024-01-02T03:04:05Z',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...config },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId ?? l.digest) },
  };
  const cfg = Buffer.from(JSON.stringify(configDoc));
  const configBlob: Blob = { data: cfg, digest: sha256(cfg), mediaType: opts.docker ? MediaType.DockerConfig : MediaType.OciConfig };
  const layerType = (l: Blob): string => (opts.docker && l.mediaType === MediaType.OciLayerGzip ? MediaType.DockerLayerGzip : l.mediaType);
  const doc = {
    schemaVersion: 2,
    mediaType: opts.docker ? MediaType.DockerManifest : MediaType.OciManifest,
    config: { mediaType: configBlob.mediaType, digest: configBlob.digest, size: cfg.length },
    layers: layers.map((l) => ({ mediaType: layerType(l), digest: l.digest, size: l.data.length })),
  };
  const m = Buffer.from(JSON.stringify(doc));
  return { config: configBlob, layers, manifest: { data: m, digest: sha256(m), mediaType: doc.mediaType } };
}

/** A multi-platform index over `entries`. */
export function index(entries: { image: TestImage; architecture: string; variant?: string }[], docker = false): Blob {
  const doc = {
    schemaVersion: 2,
    mediaType: docker ? MediaType.DockerList : MediaType.OciIndex,
    manifests: entries.map((e) => ({
      mediaType: e.image.manifest.mediaType, digest: e.image.manifest.digest, size: e.image.manifest.data.length,
      platform: { os: 'linux', architecture: e.architecture, ...(e.variant ? { variant: e.variant } : {}) },
    })),
  };
  const data = Buffer.from(JSON.stringify(doc));
  return { data, digest: sha256(data), mediaType: doc.mediaType };
}
