// A paused box's saved VM: `<box>/saved/` holds its state (devices, and RAM unless the RAM is a file beside it).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { boxliteError } from '../errors.js';
import type { SavedStream } from '../vmm/driver.js';
import { PROTOCOL_VERSION } from '../portal/protocol.js';
import { qemuVersion } from '../setup/qemu-info.js';

/** Bumped when what a saved VM holds changes, so an older one is refused with a clear message. */
export const SAVED_VM_FORMAT = 1;

/** What `saved.json` records beside the state. */
export interface SavedVmRecord {
  format: number;
  savedAtMs: number;
  cpus: number;
  memoryMib: number;
  /** The state file's size and SHA-256, checked before it is loaded. */
  state: SavedStream;
  /** Whether the VM has a network device (the VM restored from it gets one, whatever the policy says then). */
  networkDevice: boolean;
  /** True when the RAM is the file `ram` (read-only, mapped copy-on-write), not part of the state. */
  ramFile: boolean;
  /** The QEMU that saved it (its `--version` line): another QEMU may not read its devices the same way. */
  qemu: string;
  /** The portal protocol version of the agent in its memory: a host must speak it to resume the box. */
  portal: number;
  /** The agent version the guest runs (reported by its handshake when it was saved). */
  agentVersion: string;
  /** A fork's new hostname, set when it first resumes; absent: the box keeps its own. */
  hostname?: string;
}

/** A saved VM that passed its checks, ready to restore. */
export interface SavedVm {
  readonly statePath: string;
  /** The RAM file, when the RAM is not in the state. */
  readonly ramPath: string | undefined;
  readonly record: SavedVmRecord;
}

/** The saved VM of one box: its files under `dir`. */
export class SavedVmFiles {
  constructor(readonly dir: string) {}

  get statePath(): string { return path.join(this.dir, 'state'); }
  get ramPath(): string { return path.join(this.dir, 'ram'); }
  get recordPath(): string { return path.join(this.dir, 'saved.json'); }

  /** True when a saved VM is there (its record written last, so a half-made one is not). */
  exists(): boolean {
    return fs.existsSync(this.recordPath);
  }

  /** Writes the record (last, atomically): from then on the box's saved VM exists. */
  async commit(record: SavedVmRecord): Promise<void> {
    const tmp = `${this.recordPath}.tmp`;
    await fs.promises.writeFile(tmp, JSON.stringify(record), { mode: 0o600 });
    await fs.promises.rename(tmp, this.recordPath);
  }

  /** Deletes the saved VM (the record first: what is left is no saved VM). */
  async remove(): Promise<void> {
    await fs.promises.rm(this.recordPath, { force: true });
    await fs.promises.rm(this.dir, { recursive: true, force: true });
  }

  /**
   * The saved VM, checked: record readable and of this format, state of the recorded size and checksum, RAM file
   * of the guest's size and read-only, saved by the same QEMU. Otherwise a `Storage` (damaged or missing files) or
   * `InvalidState` (another QEMU) error naming the file and what to do.
   */
  async open(boxId: string, qemuIdentity: string): Promise<SavedVm> {
    const damaged = (file: string, why: string): never => {
      throw boxliteError('Storage', `box ${boxId} is paused, but its saved state ${file} ${why}; it cannot be resumed: stop the box (\`boxlite stop ${boxId}\`) to discard its memory and keep its disk`);
    };
    let record: SavedVmRecord;
    try {
      record = JSON.parse(await fs.promises.readFile(this.recordPath, 'utf8')) as SavedVmRecord;
    } catch (err) {
      return damaged(this.recordPath, `cannot be read (${(err as Error).message})`);
    }
    if (record.format !== SAVED_VM_FORMAT || typeof record.state?.sha256 !== 'string') damaged(this.recordPath, `is of another format (${String(record.format)}, this runtime reads ${SAVED_VM_FORMAT})`);
    if (record.portal !== PROTOCOL_VERSION) {
      throw boxliteError('InvalidState', `box ${boxId} was paused with a guest agent that speaks portal v${record.portal}, and this runtime speaks v${PROTOCOL_VERSION}: resume it with the boxlite version that paused it, or stop the box to discard its memory`);
    }
    if (record.qemu !== qemuIdentity) {
      throw boxliteError('InvalidState', `box ${boxId} was paused under another QEMU (${record.qemu}; now ${qemuIdentity}), which may not read its saved devices the same way; reinstall that QEMU to resume it, or stop the box to discard its memory`);
    }
    const st = await fs.promises.stat(this.statePath).catch(() => undefined);
    if (!st) damaged(this.statePath, 'is missing');
    if (st!.size !== record.state.bytes) damaged(this.statePath, `is ${st!.size} bytes, not the ${record.state.bytes} bytes saved (truncated or damaged)`);
    const sha256 = await fileSha256(this.statePath);
    if (sha256 !== record.state.sha256) damaged(this.statePath, 'does not match the checksum recorded when it was saved (damaged)');
    let ramPath: string | undefined;
    if (record.ramFile) {
      const ram = await fs.promises.stat(this.ramPath).catch(() => undefined);
      if (!ram) damaged(this.ramPath, 'is missing');
      if (ram!.size !== record.memoryMib * 1024 * 1024) damaged(this.ramPath, `is ${ram!.size} bytes, not the guest's ${record.memoryMib} MiB`);
      if (process.getuid?.() === 0 && (ram!.uid !== 0 || (ram!.mode & 0o222) !== 0)) damaged(this.ramPath, `is writable (mode ${(ram!.mode & 0o777).toString(8)}): it must be root's and read-only`);
      ramPath = this.ramPath;
    }
    return { statePath: this.statePath, ramPath, record };
  }
}

let qemuLine: Promise<string> | undefined;
/** The installed QEMU as a saved VM records it: its `--version` line (the same package on any machine). */
export function savedVmQemu(): Promise<string> {
  qemuLine ??= qemuVersion().then((v) => v.text);
  return qemuLine;
}

/** The SHA-256 (hex) of a file, streamed. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
