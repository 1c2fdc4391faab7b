// Builds a committed image in the content store: the base image's manifest and config, plus one new layer.
import { boxliteError } from '../../errors.js';
import { storedImage } from '../pull.js';
import { recordFor } from '../record.js';
import type { ContentStore } from '../store/content-store.js';
import type { RefRecord } from '../store/refs.js';
import { committedConfig, committedManifest } from './image-config.js';
import type { CommitOptions } from './options.js';
import { LayerWriter } from './layer-writer.js';

/** @internal What a commit is made of: the image below, the name to record, and who fills the new layer. */
export interface CommitInput {
  /** The manifest digest of the base image (what the box was made from). */
  baseDigest: string;
  /** The normalised reference to record the new image under. */
  reference: string;
  /** Names the source of the layer in errors (`box <id>`). */
  source: string;
  /** Writes the layer's entries; the layer is committed only when it resolves. */
  fill: (layer: LayerWriter) => Promise<void>;
}

/** Writes the new layer, config and manifest into `content` and returns the image's record (not yet saved). */
export async function commitImage(content: ContentStore, input: CommitInput, o: CommitOptions): Promise<RefRecord> {
  const base = await storedImage(content, input.baseDigest, input.reference);
  if (!base) {
    throw boxliteError('Image', `cannot commit ${input.source} as ${input.reference}: its image ${input.baseDigest} is no longer in the image store (it was removed); pull the box's image again, then commit`);
  }
  const baseConfig = await content.read(base.manifest.config.digest);
  const writer = new LayerWriter(content, input.source, o.signal);
  try {
    await input.fill(writer);
  } catch (e) {
    await writer.abort(e instanceof Error ? e : new Error(String(e)));
    throw e;
  }
  const layer = await writer.finish();
  const config = await content.write(committedConfig(baseConfig, layer, o), input.source);
  const { manifest, bytes } = committedManifest(base.manifest, config, layer);
  const written = await content.write(bytes, input.source);
  return recordFor(content, manifest, { reference: input.reference, digest: written.digest, source: 'commit' });
}
