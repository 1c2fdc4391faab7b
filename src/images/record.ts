// Turns a stored manifest into a ref record: reads and parses the config blob, sums sizes.
import { boxliteError } from '../errors.js';
import { parseImageConfig } from './config.js';
import type { ImageManifest } from './manifest.js';
import type { ContentStore } from './store/content-store.js';
import type { RefRecord } from './store/refs.js';

/** Everything a record needs besides what the manifest and config say. */
export interface RecordFacts {
  reference: string;
  digest: string;
  indexDigest?: string;
  source: RefRecord['source'];
}

/** Builds the record for an image whose manifest, config and layers are all in `content`. */
export async function recordFor(content: ContentStore, manifest: ImageManifest, facts: RecordFacts): Promise<RefRecord> {
  const config = parseImageConfig(await content.read(manifest.config.digest), `${manifest.config.digest} of ${facts.reference}`);
  if (config.diffIds.length > 0 && config.diffIds.length !== manifest.layers.length) {
    throw boxliteError('Image', `image ${facts.reference} (${facts.digest}) is inconsistent: its manifest lists ${manifest.layers.length} layers but its config lists ${config.diffIds.length}; rebuild the image`);
  }
  return {
    reference: facts.reference,
    digest: facts.digest,
    ...(facts.indexDigest && facts.indexDigest !== facts.digest ? { indexDigest: facts.indexDigest } : {}),
    configDigest: manifest.config.digest,
    config,
    layers: manifest.layers,
    sizeBytes: manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0),
    pulledAt: new Date().toISOString(),
    source: facts.source,
  };
}

/** True when the record's config and every layer are committed in `content`. */
export async function recordComplete(content: ContentStore, record: RefRecord): Promise<boolean> {
  for (const d of [record.configDigest, ...record.layers.map((l) => l.digest)]) {
    if (!(await content.has(d))) return false;
  }
  return true;
}
