// Spawns and supervises one QEMU process: console capture, exit tracking, graceful and forced termination.
import { spawn, type ChildProcess } from 'node:child_process';
import { boxliteError } from '../../errors.js';
import { ConsoleLog } from '../console-log.js';
import { validateVmConfig, type VmConfig } from '../config.js';
import type { RunningVm, VmExit, VmmDriver } from '../driver.js';
import { buildQemuArgv } from './argv.js';

/** The QEMU binary used for x86-64 guests. */
export const QEMU_BINARY = 'qemu-system-x86_64';

/** Launches VMs with QEMU. */
export class QemuDriver implements VmmDriver {
  readonly name = 'qemu';

  async launch(config: VmConfig, consoleLogPath: string): Promise<RunningVm> {
    const argv = buildQemuArgv(validateVmConfig(config));
    const console = new ConsoleLog(consoleLogPath);
    // setpriv --pdeathsig: the VM dies with the process that launched it, even on SIGKILL.
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', QEMU_BINARY, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(boxliteError('Engine',
        `could not start ${QEMU_BINARY}: ${err.message}; install it with \`npx boxlite setup\``, err)));
    });
    return new QemuVm(child, console);
  }
}

class QemuVm implements RunningVm {
  readonly pid: number;
  readonly exited: Promise<VmExit>;
  private exitInfo: VmExit | undefined;
  private stderrTail = '';

  constructor(private readonly child: ChildProcess, private readonly console: ConsoleLog) {
    this.pid = child.pid!;
    child.stdout!.on('data', (c: Buffer) => console.append(c));
    child.stderr!.on('data', (c: Buffer) => { this.stderrTail = (this.stderrTail + c.toString('utf8')).slice(-4096); });
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        console.close();
        this.exitInfo = { code, signal, stderr: this.stderrTail.trim() };
        resolve(this.exitInfo);
      });
    });
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  consoleTail(maxLines?: number): string {
    return this.console.tail(maxLines);
  }

  get consoleLogPath(): string {
    return this.console.path;
  }

  async kill(): Promise<VmExit> {
    if (!this.exitInfo) this.child.kill('SIGKILL');
    return this.exited;
  }
}
