// ImageStore: the images API (pull, list, remove, prune, load) over the content store, ref records and base disks.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { boxliteError, BoxliteError, guarded } from '../errors.js';
import type { ImageConfig } from './config.js';
import { diskPathFor, ensureImageDisk, sweepUnpackDirs } from './disk.js';
import type { ImageOperationOptions } from './events.js';
import { commitImage, type CommitInput } from './commit/commit-image.js';
import type { CommitOptions } from './commit/options.js';
import { loadArchive, loadLayout } from './local.js';
import { pullFromRegistry } from './pull.js';
import { pushToRegistry } from './push.js';
import type { PushResult } from './push-result.js';
import { recordComplete } from './record.js';
import { resolveReference, validRegistryHost, validRegistryPrefix, type ImageReference } from './reference.js';
import { RegistryClient } from './registry/client.js';
import { resolveCredential, type CredentialMap } from './registry/credentials.js';
import { requestFailure } from './registry/http.js';
import { ContentStore } from './store/content-store.js';
import { RefStore, type RefRecord } from './store/refs.js';

export type { ImageConfig } from './config.js';
export type { CommitOptions } from './commit/options.js';
export type { PushResult } from './push-result.js';
export type { ImageEvent, ImageOperationOptions, PullProgress } from './events.js';
export type { CredentialMap, RegistryCredential } from './registry/credentials.js';
/** @internal */
export { ImageReference, normalizeReference, resolveReference } from './reference.js';

/** @internal Where images live and how registries are reached (runtimes pass their BoxliteOptions). */
export interface ImageStoreOptions {
  /** The BoxLite home; images go under `<homeDir>/images/`. */
  homeDir: string;
  /** Registries (hosts, or `host/namespace` prefixes) tried in order for unqualified names, before docker.io. */
  imageRegistries?: string[];
  /** Registries (host or host:port) reached over plain http; loopback registries always are. */
  insecureRegistries?: string[];
  /** Credentials per registry host; used before those in ~/.docker/config.json (inline `auths`, `credHelpers`, `credsStore`). */
  credentials?: CredentialMap;
  /** Longest wait, in ms, for a registry's response headers, and between body chunks (default 30 000). */
  registryTimeoutMs?: number;
}

/** An image in the store. */
export interface PulledImage {
  /** The normalised reference it is recorded under. */
  reference: string;
  /** The linux/amd64 image manifest digest. */
  digest: string;
  /** The digest the reference resolved to when it named a multi-platform index. */
  indexDigest?: string;
  config: ImageConfig;
  /** Compressed size of config and layers, in bytes. */
  sizeBytes: number;
  layers: { digest: string; size: number; mediaType: string }[];
  pulledAt: string;
  /** True when the registry could not be reached and the stored copy was used. */
  fromCache: boolean;
}

/** One row of `list()`. */
export interface ImageSummary {
  reference: string;
  digest: string;
  sizeBytes: number;
  /** Size of the base disk, when it has been built. */
  diskBytes?: number;
  /** When the image was built, per its config. */
  created?: string;
  pulledAt: string;
}

/** What `prune` did. */
export interface PruneResult {
  /** References, disks (`disk:<digest>`) and blobs (`blob:<digest>`) removed. */
  removed: string[];
  freedBytes: number;
}

/** How to prune. */
export interface PruneOptions {
  /** Also remove every recorded image whose digest no box uses (default: only unreferenced data). */
  all?: boolean;
  /** Unreferenced blobs younger than this are kept, as another process may be pulling them (default 600 000). */
  graceMs?: number;
}

/**
 * The images of one BoxLite home: `images/blobs/sha256/` (content store), `images/refs/` (one record per
 * reference), `images/disks/<hex>.ext4` (read-only base disk per image), `images/ingest/` and `images/tmp/` (work in progress).
 */
export class ImageStore {
  readonly root: string;
  /** The content store, for callers that need blob paths. */
  /** @internal */
  readonly content: ContentStore;
  private readonly refs: RefStore;
  private readonly opts: ImageStoreOptions;
  private readonly clients = new Map<string, RegistryClient>();

  /** @internal Get the store of a runtime's home dir as `runtime.images`. */
  constructor(opts: ImageStoreOptions) {
    if (typeof opts?.homeDir !== 'string' || opts.homeDir === '') throw boxliteError('InvalidArgument', `homeDir must be a directory path, got ${JSON.stringify(opts?.homeDir)}`);
    for (const r of opts.imageRegistries ?? []) validRegistryPrefix(r);
    for (const r of opts.insecureRegistries ?? []) validRegistryHost(r, 'insecureRegistries');
    this.opts = opts;
    this.root = path.join(path.resolve(opts.homeDir.replace(/^~(?=\/|$)/, os.homedir())), 'images');
    this.content = new ContentStore(this.root);
    this.refs = new RefStore(path.join(this.root, 'refs'));
  }

  /** @internal The fully qualified references `input` may mean, in the order they are tried. */
  candidates(input: string): ImageReference[] {
    return resolveReference(input, this.opts.imageRegistries ?? []);
  }

  /**
   * Pulls `input` (tags are re-resolved on the registry). When a registry cannot be reached and the image is
   * stored, the stored copy is used and a `warning` event says so. Unqualified names try each of
   * `imageRegistries` in order, then docker.io.
   */
  async pull(input: string, opts: ImageOperationOptions = {}): Promise<PulledImage> {
    return guarded(`pulling ${JSON.stringify(input)}`, this.root, () => this.pullCandidates(input, opts));
  }

  private async pullCandidates(input: string, opts: ImageOperationOptions): Promise<PulledImage> {
    const t0 = performance.now();
    const candidates = this.candidates(input);
    const failures: BoxliteError[] = [];
    for (const ref of candidates) {
      try {
        const record = await pullFromRegistry(this.content, this.client(ref.registry), ref, opts);
        await this.refs.put(record);
        opts.onEvent?.({ type: 'stage', stage: 'pull', reference: record.reference, durationMs: performance.now() - t0 });
        return toPulled(record, false);
      } catch (e) {
        const failure = requestFailure(e);
        if (!failure || !BoxliteError.is(e)) throw e;
        if (failure.unreachable) {
          const cached = await this.completeRecord(ref.toString());
          if (cached) {
            opts.onEvent?.({ type: 'warning', message: `registry ${ref.registry} is unreachable (${e.message}); using the stored copy of ${cached.reference} (${cached.digest}, pulled ${cached.pulledAt})` });
            return toPulled(cached, true);
          }
        } else if (!(candidates.length > 1 && [401, 403, 404].includes(failure.status ?? 0))) {
          throw e;
        }
        failures.push(e);
      }
    }
    if (failures.length === 1) throw failures[0]!;
    throw boxliteError('Image', `could not pull ${JSON.stringify(input)} from any registry tried (${candidates.map((c) => c.registry).join(', ')}):\n${failures.map((f) => `  - ${f.message}`).join('\n')}\nset imageRegistries, or use a fully qualified reference`, failures[0]);
  }

  /** The stored image for `input` (first candidate that has a complete record), without any network. */
  async get(input: string): Promise<PulledImage | undefined> {
    for (const ref of this.candidates(input)) {
      const record = await this.completeRecord(ref.toString());
      if (record) return toPulled(record, true);
    }
    return undefined;
  }

  /**
   * Pushes the stored image `input` to the registry its reference names (as `docker push`): the blobs the registry
   * lacks (a HEAD checks each; one a stored image of another repository of that registry has is mounted from there),
   * then the manifest. Uses the runtime's `credentials`, `insecureRegistries` and
   * `registryTimeoutMs` as pull does; progress per blob as pull's. NotFound when no such image is stored.
   */
  async push(input: string, opts: ImageOperationOptions = {}): Promise<PushResult> {
    return guarded(`pushing ${JSON.stringify(input)}`, this.root, async () => {
      const record = await this.stored(input, 'push');
      const ref = resolveReference(record.reference)[0]!;
      // Blobs of images stored from other repositories of the same registry can be mounted from there.
      const others = (await this.refs.list()).flatMap((r) => {
        const other = resolveReference(r.reference)[0]!;
        return other.registry === ref.registry && other.repository !== ref.repository ? [{ repository: other.repository, blobs: new Set(blobsOf(r)) }] : [];
      });
      return pushToRegistry(this.content, this.client(ref.registry), ref, record, opts, (digest) => others.find((o) => o.blobs.has(digest))?.repository);
    });
  }

  /** Records the stored image `input` under the reference `target` too (as `docker tag`); returns the new name's image. */
  async tag(input: string, target: string): Promise<PulledImage> {
    const record = await this.stored(input, 'tag');
    const reference = resolveReference(target)[0]!;
    if (reference.digest) throw boxliteError('InvalidArgument', `cannot tag ${record.reference} as ${JSON.stringify(target)}: a tag target must name a tag, not a digest`);
    const tagged: RefRecord = { ...record, reference: reference.toString(), pulledAt: new Date().toISOString() };
    await this.refs.put(tagged);
    return toPulled(tagged, false);
  }

  /** The complete stored record for `input`, or NotFound saying how to get one. */
  private async stored(input: string, verb: string): Promise<RefRecord> {
    for (const ref of this.candidates(input)) {
      const record = await this.completeRecord(ref.toString());
      if (record) return record;
    }
    throw boxliteError('NotFound', `cannot ${verb} ${JSON.stringify(input)}: no such image in ${this.root} (tried ${this.candidates(input).map(String).join(', ')}); pull or commit it first (\`boxlite images ls\` lists them)`);
  }

  /** Every recorded image. */
  async list(): Promise<ImageSummary[]> {
    const out: ImageSummary[] = [];
    for (const r of await this.refs.list()) {
      const disk = await fs.stat(diskPathFor(this.root, r.digest)).catch(() => undefined);
      out.push({
        reference: r.reference, digest: r.digest, sizeBytes: r.sizeBytes, pulledAt: r.pulledAt,
        ...(disk ? { diskBytes: disk.blocks * 512 } : {}),
        ...(r.config.created ? { created: r.config.created } : {}),
      });
    }
    return out;
  }

  /**
   * Forgets `input` and deletes the blobs only it used. Its base disk stays until `prune` (a box may be using it).
   * NotFound when no such image is recorded.
   */
  async remove(input: string): Promise<{ reference: string; freedBytes: number }> {
    for (const ref of this.candidates(input)) {
      const record = await this.refs.get(ref.toString());
      if (!record) continue;
      await this.refs.delete(record.reference);
      const still = await this.referencedBlobs(await this.refs.list());
      let freedBytes = 0;
      for (const d of blobsOf(record)) if (!still.has(d)) freedBytes += await this.content.delete(d);
      return { reference: record.reference, freedBytes };
    }
    throw boxliteError('NotFound', `no image ${JSON.stringify(input)} in ${this.root} (tried ${this.candidates(input).map(String).join(', ')}); \`boxlite images ls\` lists them`);
  }

  /**
   * Frees space: base disks of images that are neither recorded nor in `inUseDigests`, blobs no record uses (older
   * than `graceMs`), and leftovers of interrupted work. With `all`, first forgets every image no box uses.
   */
  async prune(inUseDigests: Set<string>, opts: PruneOptions = {}): Promise<PruneResult> {
    const removed: string[] = [];
    let freedBytes = 0;
    let records = await this.refs.list();
    if (opts.all) {
      for (const r of records.filter((rec) => !inUseDigests.has(rec.digest))) {
        await this.refs.delete(r.reference);
        removed.push(r.reference);
      }
      records = await this.refs.list();
    }
    const keepDisks = new Set([...records.map((r) => r.digest), ...inUseDigests]);
    for (const name of await fs.readdir(path.join(this.root, 'disks')).catch(() => [] as string[])) {
      const m = /^([0-9a-f]{64})\.ext4$/.exec(name);
      if (!m || keepDisks.has(`sha256:${m[1]}`)) continue;
      const p = path.join(this.root, 'disks', name);
      freedBytes += ((await fs.stat(p).catch(() => undefined))?.blocks ?? 0) * 512;
      await fs.rm(p, { force: true });
      removed.push(`disk:sha256:${m[1]}`);
    }
    const used = await this.referencedBlobs(records);
    const cutoff = Date.now() - (opts.graceMs ?? 600_000);
    for (const blob of await this.content.list()) {
      if (used.has(blob.digest)) continue;
      const st = await fs.stat(this.content.blobPath(blob.digest)).catch(() => undefined);
      if (!st || st.mtimeMs > cutoff) continue;
      freedBytes += await this.content.delete(blob.digest);
      removed.push(`blob:${blob.digest}`);
    }
    freedBytes += await this.content.sweepIngest();
    await sweepUnpackDirs(this.root);
    return { removed, freedBytes };
  }

  /** Loads a `docker save` archive; `ref` tags it (and picks the image when the archive holds several). */
  async loadArchive(archivePath: string, ref?: string): Promise<PulledImage> {
    const record = await loadArchive(this.content, archivePath, ref);
    await this.refs.put(record);
    return toPulled(record, false);
  }

  /** Loads an OCI image layout directory; `ref` tags it (and picks the image when the layout holds several). */
  async loadLayout(dir: string, ref?: string): Promise<PulledImage> {
    const record = await loadLayout(this.content, dir, ref);
    await this.refs.put(record);
    return toPulled(record, false);
  }

  /** @internal Records a committed image (see LiteBox.commit): the base image plus the layer `input.fill` writes. */
  async commit(input: CommitInput, opts: CommitOptions): Promise<PulledImage> {
    const record = await commitImage(this.content, input, opts);
    await this.refs.put(record);
    return toPulled(record, false);
  }

  /** @internal The stored record for `reference` when all its blobs are present. */
  async completeRecord(reference: string): Promise<RefRecord | undefined> {
    const record = await this.refs.get(reference);
    return record && (await recordComplete(this.content, record)) ? record : undefined;
  }

  /** @internal The record of `reference`, complete or not. */
  record(reference: string): Promise<RefRecord | undefined> {
    return this.refs.get(reference);
  }

  /** @internal True when the base disk of `record` is built. */
  async hasDisk(record: RefRecord): Promise<boolean> {
    return fs.stat(diskPathFor(this.root, record.digest)).then((s) => s.isFile(), () => false);
  }

  /** @internal Makes (or reuses) the base disk of a recorded image. */
  disk(record: RefRecord, opts: ImageOperationOptions = {}): ReturnType<typeof ensureImageDisk> {
    return guarded(`building the disk of ${record.reference}`, this.root, () => ensureImageDisk(this.content, record, opts));
  }

  private client(registry: string): RegistryClient {
    let c = this.clients.get(registry);
    if (!c) {
      c = new RegistryClient({
        registry, credential: () => resolveCredential(registry, this.opts.credentials),
        insecureRegistries: this.opts.insecureRegistries ?? [],
        ...(this.opts.registryTimeoutMs ? { timeoutMs: this.opts.registryTimeoutMs } : {}),
      });
      this.clients.set(registry, c);
    }
    return c;
  }

  private async referencedBlobs(records: RefRecord[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const r of records) for (const d of blobsOf(r)) out.add(d);
    return out;
  }
}

/** Every blob a record needs: its manifests, config and layers. */
function blobsOf(r: RefRecord): string[] {
  return [r.digest, ...(r.indexDigest ? [r.indexDigest] : []), r.configDigest, ...r.layers.map((l) => l.digest)];
}

function toPulled(r: RefRecord, fromCache: boolean): PulledImage {
  return {
    reference: r.reference, digest: r.digest, ...(r.indexDigest ? { indexDigest: r.indexDigest } : {}),
    config: r.config, sizeBytes: r.sizeBytes, pulledAt: r.pulledAt, fromCache,
    layers: r.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
  };
}

/** @internal */
export { hexOf } from './store/content-store.js';
/** @internal */
export { prepareImageRootfs } from './prepare.js';
/** @internal */
export type { PreparedRootfs, PrepareOptions } from './prepare.js';
