// Ref records: one small JSON file per normalised reference in <home>/images/refs/, written atomically.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { boxliteError, messageOf } from '../../errors.js';
import { writeFileAtomic } from '../../setup/atomic.js';
import type { ImageConfig } from '../config.js';
import type { Descriptor } from '../manifest.js';

/** What the store knows about one reference: the image it names and when it was pulled. */
export interface RefRecord {
  /** The normalised reference (`docker.io/library/alpine:latest`). */
  reference: string;
  /** The digest of the platform (linux/amd64) image manifest; names the image's disk. */
  digest: string;
  /** The digest the reference resolved to, when it named a multi-platform index. */
  indexDigest?: string;
  configDigest: string;
  config: ImageConfig;
  layers: Descriptor[];
  /** Compressed size: config plus layers, in bytes. */
  sizeBytes: number;
  /** ISO 8601 time of the last successful pull or load. */
  pulledAt: string;
  source: 'registry' | 'archive' | 'layout' | 'commit';
}

/** Reads and writes ref records in `dir`. */
export class RefStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  private file(reference: string): string {
    const name = encodeURIComponent(reference);
    return path.join(this.dir, `${name.length > 200 ? createHash('sha256').update(reference).digest('hex') : name}.json`);
  }

  /** The record for `reference`, or undefined. */
  async get(reference: string): Promise<RefRecord | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.file(reference), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw boxliteError('Storage', `could not read the image record for ${reference} in ${this.dir}: ${messageOf(e)}`, e);
    }
    try {
      return JSON.parse(text) as RefRecord;
    } catch (e) {
      throw boxliteError('Storage', `the image record for ${reference} (${this.file(reference)}) is damaged; remove it and pull again`, e);
    }
  }

  /** Writes (replaces) the record atomically. */
  async put(record: RefRecord): Promise<void> {
    await writeFileAtomic(this.file(record.reference), `${JSON.stringify(record, null, 2)}\n`);
  }

  /** Deletes the record; false when there was none. */
  async delete(reference: string): Promise<boolean> {
    const f = this.file(reference);
    const had = await fs.stat(f).then(() => true, () => false);
    await fs.rm(f, { force: true });
    return had;
  }

  /** Every record, sorted by reference; damaged files are skipped. */
  async list(): Promise<RefRecord[]> {
    const out: RefRecord[] = [];
    for (const name of await fs.readdir(this.dir).catch(() => [] as string[])) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue;
      const text = await fs.readFile(path.join(this.dir, name), 'utf8').catch(() => undefined);
      try {
        if (text !== undefined) out.push(JSON.parse(text) as RefRecord);
      } catch { /* a damaged record is reported by get() */ }
    }
    return out.sort((a, b) => a.reference.localeCompare(b.reference));
  }
}
