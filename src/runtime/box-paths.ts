// Where a box's files live: <home>/boxes/<id>/ (disks, console log), its sockets in <id>/sock/ or the run dir.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, freshPrivateSubdir, isPrivateDir, runDir } from '../util/private-dir.js';
import { networkSocketPath } from '../vmm/network/passt.js';

/** How many host processes can be attached to one box at once (one virtio-serial portal port each). */
export const PORTAL_PORTS = 4;

/** The files of one box. */
export class BoxPaths {
  readonly dir: string;
  private readonly socketDir: string;
  private readonly homeHash: string;

  constructor(homeDir: string, readonly boxId: string) {
    this.dir = path.join(homeDir, 'boxes', boxId);
    this.homeHash = crypto.createHash('sha256').update(path.resolve(homeDir)).digest('hex').slice(0, 12);
    // Unix socket paths are limited to 107 bytes; a long home dir gets its sockets in this user's private
    // directory under the temp dir (util/private-dir.ts), never in one another user could have made.
    // The sockets have a directory of their own, apart from the disks and the console log: a jailed VMM owns it.
    const inBoxDir = path.join(this.dir, 'sock');
    this.socketDir = Buffer.byteLength(path.join(inBoxDir, 'portal-15.sock')) <= 100 ? inBoxDir : path.join(runDir(), `${this.homeHash}-${boxId}`);
  }

  get baseDisk(): string { return path.join(this.dir, 'base.ext4'); }
  /** The box's writable disk while it is one raw file (before any disk snapshot or clone). */
  get upperDisk(): string { return path.join(this.dir, 'upper.ext4'); }
  /** A paused box's saved VM (saved-vm.ts). */
  get savedVm(): string { return path.join(this.dir, 'saved'); }
  /** Disk snapshots: the frozen read-only layers, their index, and the writable disk once it is a qcow2 overlay on them. */
  get layersDir(): string { return path.join(this.dir, 'layers'); }
  get overlayUpperDisk(): string { return path.join(this.layersDir, 'upper.qcow2'); }
  get consoleLog(): string { return path.join(this.dir, 'console.log'); }
  /** The domain rules the box's DNS forwarder follows, and its ready mark: root's, in the box dir. */
  get dnsRules(): string { return path.join(this.dir, 'dns-rules.json'); }
  get dnsReady(): string { return path.join(this.dir, 'dns.ready'); }
  /** The resolv.conf passt's jail gets when the box has a forwarder (naming it). */
  get dnsResolvConf(): string { return path.join(this.dir, 'dns-resolv.conf'); }
  get consoleSocket(): string { return path.join(this.socketDir, 'console.sock'); }
  /** QEMU's QMP socket (a box restored into a template's RAM file is handed its state over it). */
  get controlSocket(): string { return path.join(this.socketDir, 'qmp.sock'); }
  /** Outside the box dir: passt creates it after dropping privileges (see src/vmm/network/passt.ts). */
  get networkSocket(): string { return networkSocketPath(`${this.homeHash}-${this.boxId}`); }
  /** In a directory of the volume's own, under the run dir: its file server (the directory's owner) creates it. */
  volumeSocket(tag: string): string { return path.join(this.volumeSocketsDir, tag, 'sock'); }
  private get volumeSocketsDir(): string { return path.join(runDir(), `${this.homeHash}-${this.boxId}.vol`); }
  /** What the command line of every process of the box names (its dir, its network socket, its volumes' sockets). */
  get processMarkers(): string[] { return [`${this.dir}/`, this.networkSocket, `${this.volumeSocketsDir}/`]; }
  /** Where the VMM's sockets are. */
  get socketsDir(): string { return this.socketDir; }
  portalSocket(port: number): string { return path.join(this.socketDir, `portal-${port}.sock`); }
  get portalSockets(): string[] { return Array.from({ length: PORTAL_PORTS }, (_, n) => this.portalSocket(n)); }

  /**
   * Creates the box dir, and afresh its socket dir, owned by `socketOwner` (the jailed VMM's uid) when given, and
   * the directory of its volumes' sockets when it has volumes (Config error if a place under the temp dir is unsafe).
   */
  async create(socketOwner?: number, volumes = false): Promise<void> {
    await fs.promises.mkdir(this.dir, { recursive: true, mode: 0o700 });
    if (this.socketDir.startsWith(`${this.dir}/`)) {
      await fs.promises.rm(this.socketDir, { recursive: true, force: true });
      await fs.promises.mkdir(this.socketDir, { mode: 0o700 });
      if (socketOwner !== undefined) await fs.promises.chown(this.socketDir, socketOwner, socketOwner);
    } else {
      ensurePrivateDir(path.dirname(this.socketDir), 0o711);
      freshPrivateSubdir(this.socketDir, 0o700, socketOwner);
    }
    if (volumes) {
      ensurePrivateDir(runDir(), 0o711);
      freshPrivateSubdir(this.volumeSocketsDir, 0o711);
    }
  }

  /** Deletes everything of the box, synchronously (recovery); nothing below a directory that is not ours. */
  removeSync(): void {
    fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 5 });
    for (const d of this.outsideDirs()) fs.rmSync(d, { recursive: true, force: true, maxRetries: 5 });
  }

  /** Deletes everything of the box. */
  async remove(): Promise<void> {
    await fs.promises.rm(this.dir, { recursive: true, force: true, maxRetries: 5 });
    for (const d of this.outsideDirs()) await fs.promises.rm(d, { recursive: true, force: true, maxRetries: 5 });
  }

  /** Socket directories of this home's boxes under the temp dir whose box is gone (for recovery to delete). */
  static leftoverSocketDirs(homeDir: string, exists: (boxId: string) => boolean): string[] {
    const base = runDir();
    if (!isPrivateDir(base)) return [];
    const hash = new BoxPaths(homeDir, '').homeHash;
    return fs.readdirSync(base).filter((name) => {
      const m = /^([0-9a-f]{12})-([0-9A-Z]+)(\.net|\.vol)?$/.exec(name);
      return m !== null && m[1] === hash && !exists(m[2]!);
    }).map((name) => path.join(base, name));
  }

  // The box's directories under the temp dir, when the directory holding them is ours.
  private outsideDirs(): string[] {
    const dirs = [path.dirname(this.networkSocket), this.volumeSocketsDir, ...(this.socketDir.startsWith(`${this.dir}/`) ? [] : [this.socketDir])];
    return dirs.filter((d) => isPrivateDir(path.dirname(d)));
  }
}
