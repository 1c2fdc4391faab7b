// The config and manifest of a committed image: the base image's, with one more layer and the caller's changes.
import { boxliteError } from '../../errors.js';
import { MediaType, type Descriptor, type ImageManifest } from '../manifest.js';
import type { WrittenLayer } from './layer-writer.js';
import type { CommitOptions } from './options.js';

type Json = Record<string, unknown>;

/** Checks the options a caller passed (InvalidArgument naming the one that is wrong). */
export function checkCommitOptions(o: CommitOptions): void {
  const strings = (v: unknown): boolean => Array.isArray(v) && v.every((s) => typeof s === 'string');
  for (const k of ['cmd', 'entrypoint', 'env'] as const) {
    if (o[k] !== undefined && !strings(o[k])) throw boxliteError('InvalidArgument', `commit option ${k} must be an array of strings, got ${JSON.stringify(o[k])}`);
  }
  for (const s of o.env ?? []) if (!s.includes('=')) throw boxliteError('InvalidArgument', `commit option env must hold KEY=VALUE strings, got ${JSON.stringify(s)}`);
  for (const k of ['workingDir', 'author', 'message'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'string') throw boxliteError('InvalidArgument', `commit option ${k} must be a string, got ${JSON.stringify(o[k])}`);
  }
  for (const k of ['maxBytes', 'maxFiles', 'timeoutMs'] as const) {
    const v = o[k];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw boxliteError('InvalidArgument', `commit option ${k} must be a positive integer, got ${JSON.stringify(v)}`);
  }
}

/** The new config document: the base's (every field kept), with the layer appended to rootfs and history. */
export function committedConfig(baseBytes: Buffer, layer: Pick<WrittenLayer, 'diffId'>, o: CommitOptions, now = new Date()): Buffer {
  let doc: Json;
  try {
    doc = JSON.parse(baseBytes.toString('utf8')) as Json;
  } catch (e) {
    throw boxliteError('Image', 'the config of the box\'s image is not JSON; the image is damaged: pull it again', e);
  }
  const created = now.toISOString();
  const config: Json = { ...((doc.config as Json | null | undefined) ?? {}) };
  if (o.cmd) config.Cmd = o.cmd;
  if (o.entrypoint) config.Entrypoint = o.entrypoint;
  if (o.env) config.Env = o.env;
  if (o.workingDir !== undefined) config.WorkingDir = o.workingDir;
  const rootfs = (doc.rootfs as Json | undefined) ?? {};
  const diffIds = Array.isArray(rootfs.diff_ids) ? rootfs.diff_ids as unknown[] : [];
  const out: Json = { ...doc, created, config, rootfs: { type: 'layers', diff_ids: [...diffIds, layer.diffId] } };
  if (o.author !== undefined) out.author = o.author;
  // History is kept only when the base has one (or no layers): an entry per non-empty layer must stay true.
  const history = Array.isArray(doc.history) ? doc.history as unknown[] : diffIds.length === 0 ? [] : undefined;
  if (history) out.history = [...history, { created, created_by: 'boxlite commit', ...(o.message !== undefined ? { comment: o.message } : {}) }];
  return Buffer.from(JSON.stringify(out));
}

/** OCI's media type for a layer of `mediaType` (Docker's gzip layer is the same bytes). */
function ociLayerType(mediaType: string): string {
  return mediaType === MediaType.DockerLayerGzip ? MediaType.OciLayerGzip : mediaType;
}

/** The new OCI manifest: the base's layers, then the new one. */
export function committedManifest(base: ImageManifest, config: { digest: string; size: number }, layer: WrittenLayer): { manifest: ImageManifest; bytes: Buffer } {
  const layers: Descriptor[] = [
    ...base.layers.map((l) => ({ mediaType: ociLayerType(l.mediaType), digest: l.digest, size: l.size })),
    { mediaType: MediaType.OciLayerGzip, digest: layer.digest, size: layer.size },
  ];
  const configDesc: Descriptor = { mediaType: MediaType.OciConfig, digest: config.digest, size: config.size };
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: configDesc, layers }));
  return { manifest: { kind: 'manifest', mediaType: MediaType.OciManifest, config: configDesc, layers }, bytes };
}
