// export() and import(): a stopped or paused box, with its disks and saved memory, to one file and back.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import tar from 'tar-stream';
import { BoxliteError, boxliteError, messageOf } from '../errors.js';
import { PROTOCOL_VERSION } from '../portal/protocol.js';
import type { BoxStore } from '../state/box-store.js';
import { ARCHIVE_FORMAT, ARCHIVE_PIECES, MANIFEST, unpackPiece, writeArchive, type ArchiveManifest, type PieceName, type PieceSource } from './box-archive.js';
import { BoxPaths } from './box-paths.js';
import { writableDiskOf } from './disk-layers.js';
import { BoxID, ContainerID } from './ids.js';
import type { BoxLifecycle } from './lifecycle.js';
import { validateBoxName, type ResolvedBoxOptions } from './options.js';
import { SavedVmFiles, savedVmQemu } from './saved-vm.js';

/** The largest box.json an import reads. */
const MAX_MANIFEST_BYTES = 1024 * 1024;

/** What export and import need of their runtime. */
export interface ArchiveServices {
  store: BoxStore;
  lifecycle: BoxLifecycle;
  homeDir: string;
}

/**
 * Writes box `boxId` (stopped, configured or paused; InvalidState otherwise) to `target`: its options, its disks
 * (the writable one and the base it boots from, as compressed qcow2) and, when paused, its saved VM.
 */
export async function exportBox(svc: ArchiveServices, boxId: string, target: string): Promise<void> {
  const file = path.resolve(target);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw boxliteError('InvalidArgument', `cannot export box ${boxId} to ${file}: it is a directory; give a file name such as ${path.join(file, `${boxId}.boxlite`)}`);
  await svc.lifecycle.withBoxLock(boxId, 'export', async (rec) => {
    if (rec.status !== 'stopped' && rec.status !== 'paused' && rec.status !== 'configured') {
      throw boxliteError('InvalidState', `cannot export box ${rec.id}: it is ${rec.status}; stop or pause it first (a paused box is exported with its memory)`);
    }
    const options = JSON.parse(rec.optionsJson) as ResolvedBoxOptions;
    const paths = new BoxPaths(svc.homeDir, rec.id);
    const sources: PieceSource[] = [];
    const upper = await writableDiskOf(paths); // a raw file, or the overlay of its snapshots' chain: flattened
    if (upper) sources.push({ name: 'upper.qcow2', file: upper.path, format: upper.format });
    if (fs.existsSync(paths.baseDisk)) sources.push({ name: 'base.qcow2', file: paths.baseDisk });
    else if ('image' in options.rootfs && rec.imageDigest) sources.push({ name: 'base.qcow2', file: await svc.lifecycle.imageBaseDisk(options.rootfs.image) });
    const saved = rec.status === 'paused' ? await new SavedVmFiles(paths.savedVm).open(rec.id, await savedVmQemu()) : undefined;
    if (saved) {
      sources.push({ name: 'saved-state.gz', file: saved.statePath });
      if (saved.ramPath) sources.push({ name: 'saved-ram.gz', file: saved.ramPath });
    }
    const work = await fs.promises.mkdtemp(path.join(path.dirname(file), `.${path.basename(file)}-`));
    try {
      await writeArchive(file, work, sources, {
        box: {
          name: rec.name, status: saved ? 'paused' : 'stopped', optionsJson: rec.optionsJson, image: rec.image, labels: rec.labels,
          imageDigest: rec.imageDigest, imageConfigJson: rec.imageConfigJson, networkJson: rec.networkJson,
        },
        saved: saved?.record,
      });
    } finally {
      await fs.promises.rm(work, { recursive: true, force: true });
    }
  });
}

/**
 * Makes a new box (a new id; `name`, or the exported box's name) from an export file, stopped or paused as it was
 * exported. A damaged file (bad checksum, truncated, unknown pieces) is an InvalidArgument error naming it; a
 * paused box whose memory needs another QEMU or agent protocol is InvalidState. On failure nothing is left.
 */
export async function importBox(svc: ArchiveServices, archive: string, name?: string): Promise<{ id: string; name: string | undefined }> {
  const file = path.resolve(archive);
  validateBoxName(name);
  if (!fs.existsSync(file)) throw boxliteError('NotFound', `cannot import ${file}: no such file`);
  const staging = path.join(svc.homeDir, 'imports', `${Date.now().toString(36)}-${BoxID.generate().asStr().slice(0, 8)}`);
  await fs.promises.mkdir(staging, { recursive: true, mode: 0o700 });
  const id = BoxID.generate().asStr();
  const paths = new BoxPaths(svc.homeDir, id);
  let inserted = false;
  try {
    const manifest = await extractArchive(file, staging);
    const boxName = name ?? manifest.box.name;
    if (boxName !== undefined && svc.store.find(boxName)) {
      throw boxliteError('AlreadyExists', `cannot import ${file} as box ${JSON.stringify(boxName)}: a box of that name exists; pass another name`);
    }
    if (manifest.saved) {
      if (manifest.saved.portal !== PROTOCOL_VERSION) {
        throw boxliteError('InvalidState', `cannot import ${file}: the box was paused with a guest agent speaking portal v${manifest.saved.portal}, and this runtime speaks v${PROTOCOL_VERSION}; import it with the boxlite version that exported it`);
      }
      const qemu = await savedVmQemu();
      if (manifest.saved.qemu !== qemu) {
        throw boxliteError('InvalidState', `cannot import ${file}: the box was paused under ${manifest.saved.qemu}, and this machine has ${qemu}, which may not read its saved devices; install that QEMU, or export the box stopped`);
      }
    }
    const options = checkedOptions(manifest.box.optionsJson, file);
    // The box's files are made in the staging dir and moved into place just before its row is written: a box
    // directory without a row is a leftover to recovery.
    const boxDir = path.join(staging, 'box');
    const inBox = (p: string): string => path.join(boxDir, path.relative(paths.dir, p));
    await fs.promises.mkdir(boxDir, { mode: 0o700 });
    const unpack = async (piece: PieceName, to: string): Promise<void> => {
      if (manifest.pieces[piece]) await unpackPiece(piece, path.join(staging, piece), inBox(to));
    };
    await unpack('upper.qcow2', paths.upperDisk);
    await unpack('base.qcow2', paths.baseDisk);
    if (fs.existsSync(inBox(paths.baseDisk))) await fs.promises.chmod(inBox(paths.baseDisk), 0o644);
    if (manifest.saved) {
      const saved = new SavedVmFiles(inBox(paths.savedVm));
      await fs.promises.mkdir(saved.dir, { mode: 0o700 });
      await unpack('saved-state.gz', path.join(paths.savedVm, 'state'));
      if (manifest.saved.ramFile) {
        await unpack('saved-ram.gz', path.join(paths.savedVm, 'ram'));
        await fs.promises.chmod(saved.ramPath, 0o444); // write-once, as every saved RAM file
      }
      await saved.commit(manifest.saved);
    }
    await fs.promises.mkdir(path.dirname(paths.dir), { recursive: true, mode: 0o700 });
    await fs.promises.rename(boxDir, paths.dir);
    const now = Date.now();
    svc.store.insert({
      id, name: boxName, status: manifest.saved ? 'paused' : 'stopped', optionsJson: manifest.box.optionsJson, image: manifest.box.image,
      cpus: options.cpus, memoryMib: options.memoryMib, labels: manifest.box.labels ?? {}, createdAt: now, lastUpdated: now,
      vmm: undefined, bootId: undefined, containerId: ContainerID.generate().asStr(), accelerator: undefined, lastError: undefined,
      detach: options.detach, autoRemove: options.autoRemove, owner: undefined, lockOwner: undefined, timingsJson: undefined,
      imageDigest: manifest.box.imageDigest, imageConfigJson: manifest.box.imageConfigJson, portsJson: JSON.stringify([]), jailJson: undefined,
      networkJson: manifest.box.networkJson && JSON.stringify({ egress: (JSON.parse(manifest.box.networkJson) as { egress?: unknown }).egress }),
      commandsRun: 0, runErrors: 0, bytesSent: 0, bytesReceived: 0,
    });
    inserted = true;
    svc.store.bump('boxes_created');
    return { id, name: boxName };
  } catch (err) {
    if (!inserted) await fs.promises.rm(paths.dir, { recursive: true, force: true });
    throw BoxliteError.is(err) ? err : boxliteError('Storage', `importing ${file} failed: ${messageOf(err)}`, err);
  } finally {
    await fs.promises.rm(staging, { recursive: true, force: true });
  }
}

// Reads the archive into `staging`: only known pieces, each once, each checked against the manifest (last).
async function extractArchive(file: string, staging: string): Promise<ArchiveManifest> {
  const damaged = (why: string, cause?: unknown): BoxliteError => boxliteError('InvalidArgument', `cannot import ${file}: the export file is damaged or not one boxlite made (${why})`, cause);
  const got = new Map<string, { bytes: number; sha256: string }>();
  let manifestText: string | undefined;
  const extract = tar.extract();
  const reading = pipeline(fs.createReadStream(file), extract);
  reading.catch(() => undefined);
  try {
    for await (const entry of extract) {
      const { name, type, size } = entry.header;
      if (type !== 'file') throw damaged(`entry ${JSON.stringify(name)} is a ${type}, not a file`);
      if (got.has(name) || (name === MANIFEST && manifestText !== undefined)) throw damaged(`entry ${JSON.stringify(name)} appears twice`);
      if (name === MANIFEST) {
        if ((size ?? 0) > MAX_MANIFEST_BYTES) throw damaged(`${MANIFEST} is ${size} bytes, over ${MAX_MANIFEST_BYTES}`);
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        manifestText = Buffer.concat(chunks).toString('utf8');
        continue;
      }
      if (manifestText !== undefined) throw damaged(`entry ${JSON.stringify(name)} comes after ${MANIFEST}`);
      if (!Object.hasOwn(ARCHIVE_PIECES, name)) throw damaged(`unknown entry ${JSON.stringify(name)}`);
      const hash = createHash('sha256');
      let bytes = 0;
      const out = fs.createWriteStream(path.join(staging, name), { mode: 0o600 });
      await pipeline(entry, new Writable({
        write(chunk: Buffer, _enc, done) { hash.update(chunk); bytes += chunk.length; out.write(chunk, done); },
        final(done) { out.end(done); },
      }));
      got.set(name, { bytes, sha256: hash.digest('hex') });
    }
    await reading;
  } catch (err) {
    if (BoxliteError.is(err)) throw err;
    throw damaged(messageOf(err), err);
  }
  if (manifestText === undefined) throw damaged(`no ${MANIFEST}: the file is truncated`);
  let manifest: ArchiveManifest;
  try {
    manifest = JSON.parse(manifestText) as ArchiveManifest;
  } catch (err) {
    throw damaged(`${MANIFEST} is not JSON`, err);
  }
  if (manifest.format !== ARCHIVE_FORMAT) throw damaged(`format ${String(manifest.format)}, this runtime reads ${ARCHIVE_FORMAT}`);
  if (typeof manifest.box?.optionsJson !== 'string' || typeof manifest.pieces !== 'object' || manifest.pieces === null) throw damaged(`${MANIFEST} lacks the box or its pieces`);
  if ((manifest.box.status === 'paused') !== Boolean(manifest.saved)) throw damaged('a paused box without its saved memory, or the reverse');
  for (const [name, want] of Object.entries(manifest.pieces)) {
    const have = got.get(name);
    if (!have) throw damaged(`the piece ${name} is missing`);
    if (have.bytes !== want.bytes || have.sha256 !== want.sha256) throw damaged(`the piece ${name} does not match its checksum`);
  }
  for (const name of got.keys()) if (!Object.hasOwn(manifest.pieces, name)) throw damaged(`the piece ${name} is not in ${MANIFEST}`);
  if (manifest.saved && (!got.has('saved-state.gz') || (manifest.saved.ramFile && !got.has('saved-ram.gz')))) throw damaged('the saved memory is incomplete');
  return manifest;
}

// The exported box's options, checked enough to make a row of them (a box's start checks the rest).
function checkedOptions(optionsJson: string, file: string): ResolvedBoxOptions {
  let o: ResolvedBoxOptions;
  try {
    o = JSON.parse(optionsJson) as ResolvedBoxOptions;
  } catch (err) {
    throw boxliteError('InvalidArgument', `cannot import ${file}: its box options are not JSON`, err);
  }
  const ok = typeof o === 'object' && o !== null && typeof o.rootfs === 'object' && o.rootfs !== null
    && Number.isInteger(o.cpus) && o.cpus >= 1 && Number.isInteger(o.memoryMib) && o.memoryMib >= 64;
  if (!ok) throw boxliteError('InvalidArgument', `cannot import ${file}: its box options lack a rootfs, cpus or memory`);
  return o;
}
