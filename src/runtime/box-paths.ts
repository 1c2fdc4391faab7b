// Where a box's files live: <home>/boxes/<id>/ (disks, console log, sockets).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { networkSocketPath } from '../vmm/network/passt.js';

/** How many host processes can be attached to one box at once (one virtio-serial portal port each). */
export const PORTAL_PORTS = 4;

/** The files of one box. */
export class BoxPaths {
  readonly dir: string;
  private readonly socketDir: string;

  constructor(homeDir: string, readonly boxId: string) {
    this.dir = path.join(homeDir, 'boxes', boxId);
    // Unix socket paths are limited to 107 bytes; a long home dir gets its sockets under the temp dir.
    const longest = path.join(this.dir, 'portal-15.sock');
    this.socketDir = Buffer.byteLength(longest) <= 100 ? this.dir
      : path.join(os.tmpdir(), `boxlite-${crypto.createHash('sha256').update(homeDir).digest('hex').slice(0, 12)}`, boxId.slice(0, 16));
  }

  get baseDisk(): string { return path.join(this.dir, 'base.ext4'); }
  get upperDisk(): string { return path.join(this.dir, 'upper.ext4'); }
  get consoleLog(): string { return path.join(this.dir, 'console.log'); }
  get consoleSocket(): string { return path.join(this.socketDir, 'console.sock'); }
  /** Outside the box dir: passt creates it after dropping privileges (see src/vmm/network/passt.ts). */
  get networkSocket(): string {
    return networkSocketPath(`${crypto.createHash('sha256').update(path.dirname(path.dirname(this.dir))).digest('hex').slice(0, 12)}-${this.boxId}`);
  }
  get networkLog(): string { return path.join(this.dir, 'network.log'); }
  volumeSocket(tag: string): string { return path.join(this.socketDir, `${tag}.sock`); }
  portalSocket(port: number): string { return path.join(this.socketDir, `portal-${port}.sock`); }
  get portalSockets(): string[] { return Array.from({ length: PORTAL_PORTS }, (_, n) => this.portalSocket(n)); }

  /** Creates the box dir (and the socket dir when it lives elsewhere). */
  async create(): Promise<void> {
    await fs.promises.mkdir(this.dir, { recursive: true, mode: 0o700 });
    if (this.socketDir !== this.dir) await fs.promises.mkdir(this.socketDir, { recursive: true, mode: 0o700 });
  }

  /** Deletes everything of the box, synchronously (recovery). */
  removeSync(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.rmSync(path.dirname(this.networkSocket), { recursive: true, force: true });
    if (this.socketDir !== this.dir) fs.rmSync(this.socketDir, { recursive: true, force: true });
  }

  /** Deletes everything of the box. */
  async remove(): Promise<void> {
    await fs.promises.rm(this.dir, { recursive: true, force: true });
    await fs.promises.rm(path.dirname(this.networkSocket), { recursive: true, force: true });
    if (this.socketDir !== this.dir) await fs.promises.rm(this.socketDir, { recursive: true, force: true });
  }
}
