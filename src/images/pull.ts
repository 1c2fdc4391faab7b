// Pulls one fully qualified reference from its registry: manifest (platform chosen), config and layers, verified, into the store.
import { boxliteError } from '../errors.js';
import { abortError } from '../util/abort.js';
import type { ImageOperationOptions } from './events.js';
import { parseManifest, type Descriptor, type ImageManifest } from './manifest.js';
import { selectPlatform } from './platform.js';
import { recordComplete, recordFor } from './record.js';
import type { ImageReference } from './reference.js';
import type { RegistryClient } from './registry/client.js';
import type { ContentStore } from './store/content-store.js';
import { mapLimit } from './store/parallel.js';
import { downloadBlob } from './store/resumable.js';
import type { RefRecord } from './store/refs.js';

/** How many blobs download at once. */
export const PARALLEL_DOWNLOADS = 3;

/**
 * Resolves `ref` on its registry and makes sure every blob of its linux/amd64 image is in `content`; returns the
 * record (not yet saved). A reference by digest whose blobs are all stored is served without any network.
 * Aborted through `opts.signal`, it rejects with a standard AbortError (whatever the request it cut made of it).
 */
export async function pullFromRegistry(content: ContentStore, client: RegistryClient, ref: ImageReference, opts: ImageOperationOptions = {}): Promise<RefRecord> {
  try {
    return await pullNow(content, client, ref, opts);
  } catch (e) {
    if (opts.signal?.aborted) throw abortError(opts.signal, `pulling ${ref.toString()}`);
    throw e;
  }
}

async function pullNow(content: ContentStore, client: RegistryClient, ref: ImageReference, opts: ImageOperationOptions): Promise<RefRecord> {
  const where = `registry ${ref.registry} (${ref.name})`;
  if (ref.digest) {
    const local = await storedImage(content, ref.digest, ref.toString());
    if (local) {
      const record = await recordFor(content, local.manifest, { reference: ref.toString(), digest: local.digest, indexDigest: ref.digest, source: 'registry' });
      if (await recordComplete(content, record)) return record;
    }
  }
  const top = await client.getManifest(ref.repository, ref.manifestKey, opts.signal);
  opts.onEvent?.({ type: 'resolved', reference: ref.toString(), digest: top.digest });
  let doc = parseManifest(top.bytes, top.url, top.contentType);
  await content.write(top.bytes, where, top.digest);
  let digest = top.digest;
  if (doc.kind === 'index') {
    const entry = selectPlatform(doc, `${ref.toString()} (index ${top.digest})`);
    digest = entry.digest;
    const bytes = (await content.has(digest)) ? await content.read(digest) : await fetchAndStore(content, client, ref, digest, where, opts.signal);
    doc = parseManifest(bytes, `${where} ${digest}`);
    if (doc.kind !== 'manifest') throw boxliteError('Image', `the linux/amd64 entry ${digest} of ${ref.toString()} is itself an index; nested indexes are not supported`);
  }
  await downloadBlobs(content, client, ref, [doc.config, ...doc.layers], where, opts);
  return recordFor(content, doc, { reference: ref.toString(), digest, indexDigest: top.digest, source: 'registry' });
}

/** The platform manifest stored for `digest` (following an index to its linux/amd64 entry), if present. */
export async function storedImage(content: ContentStore, digest: string, name: string): Promise<{ digest: string; manifest: ImageManifest } | undefined> {
  if (!(await content.has(digest))) return undefined;
  let doc = parseManifest(await content.read(digest), `the stored manifest ${digest}`);
  let chosen = digest;
  if (doc.kind === 'index') {
    chosen = selectPlatform(doc, `${name} (index ${digest})`).digest;
    if (!(await content.has(chosen))) return undefined;
    doc = parseManifest(await content.read(chosen), `the stored manifest ${chosen}`);
  }
  return doc.kind === 'manifest' ? { digest: chosen, manifest: doc } : undefined;
}

async function fetchAndStore(content: ContentStore, client: RegistryClient, ref: ImageReference, digest: string, where: string, signal?: AbortSignal): Promise<Buffer> {
  const m = await client.getManifest(ref.repository, digest, signal);
  await content.write(m.bytes, where, digest);
  return m.bytes;
}

/** Downloads the blobs not yet stored (continuing interrupted downloads), PARALLEL_DOWNLOADS at a time; the first failure cancels the others. */
async function downloadBlobs(content: ContentStore, client: RegistryClient, ref: ImageReference, blobs: Descriptor[], where: string, opts: ImageOperationOptions): Promise<void> {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const unique = blobs.filter((b, i) => blobs.findIndex((o) => o.digest === b.digest) === i);
  try {
    await mapLimit(unique, PARALLEL_DOWNLOADS, async (blob) => {
      const report = (bytesDone: number, cached?: boolean, resumedBytes?: number): void => opts.onProgress?.({
        layer: blob.digest, bytesDone, bytesTotal: blob.size, ...(cached ? { cached } : {}), ...(resumedBytes ? { resumedBytes } : {}),
      });
      if (await content.has(blob.digest)) { report(blob.size, true); return; }
      report(0);
      try {
        await downloadBlob(content, { digest: blob.digest, size: blob.size },
          (offset) => client.getBlob(ref.repository, blob.digest, controller.signal, offset),
          { source: where, onBytes: (n) => report(n), onResume: (n) => report(n, false, n), signal: controller.signal });
      } catch (e) {
        controller.abort(e);
        throw e;
      }
    });
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
