// Local image sources: OCI image layout directories and `docker save` archives, copied into the store and tagged.
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { boxliteError, BoxliteError, messageOf } from '../errors.js';
import { sniffCompression } from './unpack/decompress.js';
import { MediaType, parseManifest, type Descriptor, type ImageManifest } from './manifest.js';
import { selectPlatform } from './platform.js';
import { recordFor } from './record.js';
import { normalizeReference } from './reference.js';
import type { ContentStore } from './store/content-store.js';
import type { RefRecord } from './store/refs.js';

/** Annotations that name an image in an OCI layout's index.json. */
const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';

/**
 * Copies the image of the OCI layout `dir` into `content` (every blob checked against its digest) and returns its
 * record. `ref` selects the entry (by its ref.name annotation) when index.json lists several, and tags the image;
 * without it the entry's own name is used.
 */
export async function loadLayout(content: ContentStore, dir: string, ref?: string): Promise<RefRecord> {
  const where = `OCI layout ${dir}`;
  const layoutFile = await fs.promises.readFile(path.join(dir, 'oci-layout'), 'utf8').catch((e: unknown) => {
    throw boxliteError('InvalidArgument', `${dir} is not an OCI image layout (no readable oci-layout file: ${messageOf(e)}); pass a directory made by e.g. \`skopeo copy ... oci:DIR\``, e);
  });
  if (!/"imageLayoutVersion"\s*:\s*"1\./.test(layoutFile)) throw boxliteError('Image', `${where}: unsupported oci-layout ${layoutFile.trim()}; only version 1.x is supported`);
  const indexBytes = await fs.promises.readFile(path.join(dir, 'index.json'));
  const index = parseManifest(indexBytes, `${where}/index.json`, MediaType.OciIndex);
  if (index.kind !== 'index') throw boxliteError('Image', `${where}/index.json is not an image index`);
  const entry = pickEntry(index.manifests, ref, where);
  const reference = normalizeReference(ref ?? entryName(entry, where));
  const blobFile = (digest: string): string => path.join(dir, 'blobs', 'sha256', digest.slice(7));
  const copy = async (d: { digest: string; size?: number }): Promise<void> => {
    if (await content.has(d.digest)) return;
    await content.ingest(fs.createReadStream(blobFile(d.digest)), { expected: { digest: d.digest, ...(d.size !== undefined ? { size: d.size } : {}) }, source: where });
  };
  await copy(entry);
  let digest = entry.digest;
  let doc = parseManifest(await content.read(digest), `${where} ${digest}`);
  if (doc.kind === 'index') {
    const chosen = selectPlatform(doc, `${where} (index ${digest})`);
    await copy(chosen);
    digest = chosen.digest;
    doc = parseManifest(await content.read(digest), `${where} ${digest}`);
  }
  if (doc.kind !== 'manifest') throw boxliteError('Image', `${where}: ${digest} is a nested index, which is not supported`);
  for (const d of [doc.config, ...doc.layers]) await copy(d);
  return recordFor(content, doc, { reference: reference.toString(), digest, indexDigest: entry.digest, source: 'layout' });
}

function pickEntry(entries: Descriptor[], ref: string | undefined, where: string): Descriptor {
  if (entries.length === 0) throw boxliteError('Image', `${where} holds no image (index.json lists no manifests)`);
  if (ref !== undefined) {
    const want = normalizeReference(ref);
    const hit = entries.find((e) => {
      const name = e.annotations?.[REF_NAME] ?? e.annotations?.[CONTAINERD_NAME];
      return name !== undefined && (name === want.tag || name === ref || safeNormal(name) === want.toString());
    });
    if (hit) return hit;
  }
  if (entries.length === 1) return entries[0]!;
  const names = entries.map((e) => e.annotations?.[REF_NAME] ?? e.digest);
  throw boxliteError('InvalidArgument', `${where} holds ${entries.length} images (${names.join(', ')}); pass the reference of the one to load`);
}

function entryName(entry: Descriptor, where: string): string {
  const name = entry.annotations?.[CONTAINERD_NAME] ?? entry.annotations?.[REF_NAME];
  if (name && safeNormal(name)) return name;
  throw boxliteError('InvalidArgument', `${where} does not name its image (no ${REF_NAME} annotation holding a full reference); pass a reference to tag it as`);
}

function safeNormal(name: string): string | undefined {
  try {
    return normalizeReference(name).toString();
  } catch {
    return undefined;
  }
}

/** A file of a docker save archive: small ones kept in memory, large ones already in the store. */
type ArchiveFile = { bytes: Buffer } | { digest: string; size: number };

const SMALL_FILE = 1024 * 1024;

/**
 * Loads a `docker save` archive (manifest.json, config JSON and layer tars; plain or gzip/zstd layers): every file
 * is streamed once, layers straight into the store, and an OCI manifest is written for the image. `ref` picks the
 * image by its RepoTags when the archive has several, and tags it; by default its first RepoTag is used.
 */
export async function loadArchive(content: ContentStore, archivePath: string, ref?: string): Promise<RefRecord> {
  const where = `docker archive ${archivePath}`;
  const files = new Map<string, ArchiveFile>();
  const links = new Map<string, string>();
  const extract = tar.extract();
  const piping = pipeline(fs.createReadStream(archivePath), extract);
  piping.catch(() => undefined);
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const name = path.posix.normalize(h.name).replace(/^(\.\/)+/, '');
      const body = entry as AsyncIterable<Uint8Array>;
      if (h.type === 'symlink' || h.type === 'link') {
        links.set(name, h.type === 'link' ? path.posix.normalize(h.linkname) : path.posix.normalize(path.posix.join(path.posix.dirname(name), h.linkname)));
      } else if (h.type === 'file' || h.type === 'contiguous-file') {
        if (h.size <= SMALL_FILE) {
          const chunks: Buffer[] = [];
          for await (const c of body) chunks.push(Buffer.from(c));
          files.set(name, { bytes: Buffer.concat(chunks) });
        } else {
          files.set(name, await content.ingest(body, { source: `${where} (${name})` }));
        }
      }
      entry.resume();
    }
    await piping;
  } catch (e) {
    extract.destroy();
    if (BoxliteError.is(e)) throw e;
    throw boxliteError('Image', `could not read ${where}: ${messageOf(e)}; pass a tar made by \`docker save\``, e);
  }
  const lookup = (name: string): ArchiveFile => {
    let n = path.posix.normalize(name);
    for (let hops = 0; links.has(n) && hops < 10; hops++) n = links.get(n)!;
    const f = files.get(n);
    if (!f) throw boxliteError('Image', `${where} lists ${name} but does not contain it; the archive is incomplete`);
    return f;
  };
  const manifestFile = files.get('manifest.json');
  if (!manifestFile || !('bytes' in manifestFile)) throw boxliteError('InvalidArgument', `${where} has no manifest.json; it is not a \`docker save\` archive (for an OCI layout directory use loadLayout)`);
  let images: { Config: string; RepoTags?: string[] | null; Layers: string[] }[];
  try {
    images = JSON.parse(manifestFile.bytes.toString('utf8')) as typeof images;
  } catch (e) {
    throw boxliteError('Image', `${where}: manifest.json is not JSON`, e);
  }
  if (!Array.isArray(images) || images.length === 0) throw boxliteError('Image', `${where}: manifest.json lists no images`);
  const want = ref === undefined ? undefined : normalizeReference(ref).toString();
  const image = images.find((i) => (i.RepoTags ?? []).some((t) => safeNormal(t) === want)) ?? (images.length === 1 ? images[0] : undefined);
  if (!image) throw boxliteError('InvalidArgument', `${where} holds ${images.length} images (${images.map((i) => (i.RepoTags ?? []).join(' ') || i.Config).join(', ')}); pass the reference of the one to load`);
  const tag = ref ?? image.RepoTags?.[0];
  if (!tag) throw boxliteError('InvalidArgument', `${where}: the image has no RepoTags; pass a reference to tag it as`);
  const store = async (f: ArchiveFile, name: string): Promise<{ digest: string; size: number }> => ('bytes' in f ? content.write(f.bytes, `${where} (${name})`) : f);
  const config = await store(lookup(image.Config), image.Config);
  const layers: Descriptor[] = [];
  for (const l of image.Layers) {
    const blob = await store(lookup(l), l);
    layers.push({ mediaType: await layerMediaType(content, blob.digest), digest: blob.digest, size: blob.size });
  }
  const manifest: ImageManifest = { kind: 'manifest', mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: config.digest, size: config.size }, layers };
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: manifest.mediaType, config: manifest.config, layers }));
  const written = await content.write(bytes, where);
  return recordFor(content, manifest, { reference: normalizeReference(tag).toString(), digest: written.digest, source: 'archive' });
}

async function layerMediaType(content: ContentStore, digest: string): Promise<string> {
  const fh = await fs.promises.open(content.blobPath(digest), 'r');
  try {
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    const c = sniffCompression(head);
    return c === 'gzip' ? MediaType.OciLayerGzip : c === 'zstd' ? MediaType.OciLayerZstd : MediaType.OciLayerTar;
  } finally {
    await fh.close();
  }
}
