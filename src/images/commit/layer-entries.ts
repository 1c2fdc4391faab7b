// The box's changes as OCI layer entries: overlayfs's upper directory (whiteouts as 0/0 character devices, opaque
// directories marked by the trusted.overlay.opaque xattr) turned into `.wh.<name>` and `.wh..wh..opq` entries.
import path from 'node:path';
import type { Header } from 'tar-stream';
import { boxliteError } from '../../errors.js';
import { ArchiveChecker, type PackHeader } from '../../files/tar-check.js';
import type { ExtractLimits } from '../../files/host-extract.js';
import { OPAQUE, WHITEOUT_PREFIX } from '../unpack/whiteout.js';

/** The longest name (or link target) fs.changes sends: its buffers are PATH_MAX. */
const MAX_NAME_BYTES = 4096;
/** All names of one commit together: 500 000 entries of 130 bytes on average. */
const MAX_TOTAL_NAME_BYTES = 64 * 2 ** 20;

/** The pax record fs.changes marks an opaque directory with. */
export const OPAQUE_PAX = 'SCHILY.xattr.trusted.overlay.opaque';

/**
 * The empty file the agent makes for its resolv.conf bind mount when the image has none; the box writes through the
 * mount, never to this file, so it is the agent's and not the box's change.
 */
const RESOLV_CONF = 'etc/resolv.conf';

/** @internal The entries of one upper-directory tar, checked and converted in order. */
export class LayerEntries {
  private readonly checker: ArchiveChecker;
  private nameBytes = 0;
  /** What was dropped (device nodes, which a box's nodev root never opens), for the caller to report. */
  readonly dropped: string[] = [];

  /** `source` names the box in errors. */
  constructor(private readonly source: string, limits: ExtractLimits) {
    this.checker = new ArchiveChecker('.', limits, source, 'CommitOptions');
  }

  /** The layer entries (zero, one or two) for the upper entry `h`; throws on names or types a layer must not get. */
  convert(h: Header): PackHeader[] {
    // The checker keeps every name (for hard links and symlinks): bound what a hostile box can make it hold.
    const [nameLen, linkLen] = [Buffer.byteLength(h.name), Buffer.byteLength(h.linkname ?? '')];
    if (nameLen > MAX_NAME_BYTES || linkLen > MAX_NAME_BYTES) throw boxliteError('Portal', `${this.source} sent a tar entry whose name or link target is longer than ${MAX_NAME_BYTES} bytes, which fs.changes never sends; the guest is broken or hostile`);
    this.nameBytes += nameLen + linkLen;
    if (this.nameBytes > MAX_TOTAL_NAME_BYTES) throw boxliteError('Portal', `${this.source} sent more than ${MAX_TOTAL_NAME_BYTES / 2 ** 20} MiB of entry names; the stream was cut there (the guest is broken or hostile)`);
    const checked = this.checker.check(h);
    if (checked.type === 'contiguous-file') checked.type = 'file';
    const name = checked.name.replace(/^\.\//, '').replace(/\/$/, '');
    if (name === '.' || name === '') return []; // the upper directory itself: not part of a layer
    const base = path.posix.basename(name);
    if (base.startsWith(WHITEOUT_PREFIX)) {
      throw boxliteError('InvalidArgument', `${this.source} has a file ${JSON.stringify(`/${name}`)} whose name starts with ${JSON.stringify(WHITEOUT_PREFIX)}, which an image layer reads as a deletion; rename or remove it, then commit again`);
    }
    const out: PackHeader = { ...checked, name: checked.type === 'directory' ? `${name}/` : name };
    if (checked.type === 'character-device' && checked.devmajor === 0 && checked.devminor === 0) {
      const dir = path.posix.dirname(name);
      return [{ name: dir === '.' ? `${WHITEOUT_PREFIX}${base}` : `${dir}/${WHITEOUT_PREFIX}${base}`, type: 'file', size: 0, mode: 0o644, mtime: checked.mtime, uid: 0, gid: 0 }];
    }
    if (name === RESOLV_CONF && checked.type === 'file' && checked.size === 0) return []; // the agent's placeholder
    if (checked.type === 'character-device' || checked.type === 'block-device') {
      this.dropped.push(`/${name}`);
      return [];
    }
    if (checked.type === 'link') throw boxliteError('Portal', `${this.source} sent a hard link ${JSON.stringify(h.name)}, which fs.changes never sends; the guest is broken or hostile`);
    if (checked.type === 'directory' && (h.pax as Record<string, string> | undefined)?.[OPAQUE_PAX] === 'y') {
      return [out, { name: `${name}/${OPAQUE}`, type: 'file', size: 0, mode: 0o644, mtime: checked.mtime, uid: 0, gid: 0 }];
    }
    return [out];
  }

  /** File bytes passed so far (the limit's count). */
  get bytes(): number {
    return this.checker.bytes;
  }
}
