// Pushes one stored image to the registry its reference names: each blob the registry lacks, then the manifest.
import fs from 'node:fs';
import { boxliteError } from '../errors.js';
import { abortError } from '../util/abort.js';
import type { ImageOperationOptions } from './events.js';
import { parseManifest } from './manifest.js';
import type { ImageReference } from './reference.js';
import type { RegistryClient } from './registry/client.js';
import { blobExists, putManifest, uploadBlob } from './registry/upload.js';
import type { ContentStore } from './store/content-store.js';
import { mapLimit } from './store/parallel.js';
import type { RefRecord } from './store/refs.js';
import type { PushResult } from './push-result.js';

/** How many blobs upload at once. */
export const PARALLEL_UPLOADS = 3;

/** For a blob, another repository of the same registry that has it (a stored image came from there), if any. */
export type MountSource = (digest: string) => string | undefined;

/**
 * Pushes the image of `record` as `ref` (which names the registry and repository). Progress as pull's, per blob.
 * A blob `mountFrom` knows of is mounted from that repository instead of uploaded, when the registry can.
 */
export async function pushToRegistry(content: ContentStore, client: RegistryClient, ref: ImageReference, record: RefRecord, opts: ImageOperationOptions = {}, mountFrom: MountSource = () => undefined): Promise<PushResult> {
  try {
    return await pushNow(content, client, ref, record, opts, mountFrom);
  } catch (e) {
    if (opts.signal?.aborted) throw abortError(opts.signal, `pushing ${ref.toString()}`);
    throw e;
  }
}

async function pushNow(content: ContentStore, client: RegistryClient, ref: ImageReference, record: RefRecord, opts: ImageOperationOptions, mountFrom: MountSource): Promise<PushResult> {
  const bytes = await content.read(record.digest);
  const manifest = parseManifest(bytes, `the stored manifest ${record.digest} of ${record.reference}`);
  if (manifest.kind !== 'manifest') throw boxliteError('Image', `the stored manifest ${record.digest} of ${record.reference} is an index; only single-platform images can be pushed`);
  const blobs = [manifest.config, ...manifest.layers].filter((b, i, all) => all.findIndex((o) => o.digest === b.digest) === i);
  for (const b of blobs) {
    if (!(await content.has(b.digest))) throw boxliteError('Image', `cannot push ${record.reference}: its blob ${b.digest} is not in the image store ${content.root}; pull the image again`);
  }
  let uploaded = 0;
  let mounted = 0;
  await mapLimit(blobs, PARALLEL_UPLOADS, async (blob) => {
    const report = (bytesDone: number, cached?: boolean): void => opts.onProgress?.({ layer: blob.digest, bytesDone, bytesTotal: blob.size, ...(cached ? { cached } : {}) });
    if (await blobExists(client, ref.repository, blob.digest, opts.signal)) { report(blob.size, true); return; }
    report(0);
    let done = 0;
    const how = await uploadBlob(client, ref.repository, blob, () => (async function* read() {
      done = 0;
      for await (const chunk of fs.createReadStream(content.blobPath(blob.digest), { highWaterMark: 1024 * 1024 })) {
        done += (chunk as Buffer).length;
        report(done);
        yield chunk as Buffer;
      }
    })(), opts.signal, mountFrom(blob.digest));
    if (how === 'mounted') {
      mounted++;
      report(blob.size);
    } else {
      uploaded++;
    }
  });
  const said = await putManifest(client, ref.repository, ref.digest ?? ref.tag ?? 'latest', bytes, manifest.mediaType, opts.signal);
  if (said && said !== record.digest) {
    throw boxliteError('Image', `registry ${ref.registry} stored the manifest of ${ref.toString()} as ${said}, not ${record.digest}; it rewrote the manifest, so the pushed image is not the same`);
  }
  opts.onEvent?.({ type: 'resolved', reference: ref.toString(), digest: record.digest });
  return { reference: ref.toString(), digest: record.digest, uploaded, mounted, skipped: blobs.length - uploaded - mounted };
}
