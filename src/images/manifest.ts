// Manifest and index documents: the media types we accept, and parsing them into checked shapes.
import { boxliteError } from '../errors.js';
import { isDigest } from './reference.js';

/** The media types of manifests and indexes, Docker v2 schema 2 and OCI. */
export const MediaType = {
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  DockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  OciLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** The Accept header for manifest requests: every manifest and index type we can use. */
export const MANIFEST_ACCEPT = [MediaType.OciIndex, MediaType.DockerList, MediaType.OciManifest, MediaType.DockerManifest].join(', ');

/** A content descriptor: what a manifest says about a blob. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** An OS/architecture pair, as in an index entry. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** A single-platform image manifest. */
export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

/** A multi-platform index (OCI index or Docker manifest list). */
export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
}

/**
 * Parses a manifest or index document; `where` names its source (registry URL or file) for the error.
 * The media type comes from the document, else from `contentType` (the HTTP header).
 */
export function parseManifest(bytes: Buffer, where: string, contentType?: string): ImageManifest | ImageIndex {
  const bad = (why: string, cause?: unknown): never => {
    throw boxliteError('Image', `the manifest from ${where} is not usable: ${why}`, cause);
  };
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    return bad('it is not JSON', e);
  }
  if (typeof doc !== 'object' || doc === null) return bad('it is not a JSON object');
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : contentType?.split(';')[0]?.trim();
  if (doc.schemaVersion === 1) return bad('it is a Docker schema 1 manifest, which is deprecated and not supported; push the image again with a current Docker or another OCI tool');
  if (Array.isArray(doc.manifests) && declared !== MediaType.OciManifest && declared !== MediaType.DockerManifest) {
    return { kind: 'index', mediaType: declared ?? MediaType.OciIndex, manifests: doc.manifests.map((d, i) => descriptor(d, `manifests[${i}]`, bad)) };
  }
  if (Array.isArray(doc.layers) && typeof doc.config === 'object') {
    return {
      kind: 'manifest',
      mediaType: declared ?? MediaType.OciManifest,
      config: descriptor(doc.config, 'config', bad),
      layers: doc.layers.map((d, i) => descriptor(d, `layers[${i}]`, bad)),
    };
  }
  return bad(`media type ${JSON.stringify(declared)} is neither an image manifest nor an index`);
}

function descriptor(value: unknown, field: string, bad: (why: string) => never): Descriptor {
  const d = value as Partial<Descriptor> | null;
  if (typeof d !== 'object' || d === null) bad(`${field} is not an object`);
  if (typeof d!.digest !== 'string' || !isDigest(d!.digest)) bad(`${field}.digest ${JSON.stringify(d!.digest)} is not sha256:<64 hex>`);
  if (typeof d!.size !== 'number' || !Number.isSafeInteger(d!.size) || d!.size < 0) bad(`${field}.size ${JSON.stringify(d!.size)} is not a byte count`);
  return {
    mediaType: typeof d!.mediaType === 'string' ? d!.mediaType : '',
    digest: d!.digest!,
    size: d!.size!,
    ...(d!.platform ? { platform: d!.platform } : {}),
    ...(d!.annotations ? { annotations: d!.annotations } : {}),
  };
}
