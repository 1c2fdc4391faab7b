// Spawns, adopts and supervises QEMU processes: console capture, exit tracking, forced termination.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { pollDelayMs } from '../../util/poll-delay.js';
import { boxliteError } from '../../errors.js';
import { DeadlinePassed } from '../../portal/deadlines.js';
import { orTimeout } from '../../util/timeout.js';
import { findExecutable } from '../../setup/os-packages.js';
import { commandLine, isAlive, processStartTime } from '../../state/process-identity.js';
import { ConsoleLog, consoleTail } from '../console-log.js';
import { RESTORE_FD, validateVmConfig, type VmConfig } from '../config.js';
import { jailerLaunch } from '../../jailer/jail-spec.js';
import { childEnvironment, vmmJail, type VmmFiles } from '../../jailer/plan.js';
import type { LaunchOptions, RunningVm, SavedStream, SaveOptions, SaveTarget, VmExit, VmmDriver } from '../driver.js';
import { launchArgv } from '../launch-argv.js';
import { buildQemuArgv } from './argv.js';
import { QmpClient } from './qmp.js';

/** Longest a saved state of devices only (the RAM stays in its file) may take to load. */
const LOAD_TIMEOUT_MS = 10_000;
/** A state holding RAM gets this much longer per byte (a slow 10 MB/s: a busy host's disk). */
const LOAD_BYTES_PER_MS = 10_000;
/** The most a state may take when the caller gives no bound (devices and a guest's RAM fit well below). */
const DEFAULT_MAX_STATE_BYTES = 64 * 1024 ** 3;
/** Longest a VM's state may take to save. */
const SAVE_TIMEOUT_MS = 60_000;

/** The QEMU binary used for x86-64 guests. */
export const QEMU_BINARY = 'qemu-system-x86_64';

/** Launches VMs with QEMU. */
export class QemuDriver implements VmmDriver {
  readonly name = 'qemu';

  async launch(config: VmConfig, options: LaunchOptions): Promise<RunningVm> {
    const argv = buildQemuArgv(validateVmConfig(config));
    const PATH = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';
    const notFound = (why: string, err?: unknown): Error => boxliteError('Engine', `could not start ${QEMU_BINARY}: ${why}; install it with \`npx boxlite setup\``, err);
    const program = await findExecutable(QEMU_BINARY, PATH.split(':').filter(Boolean));
    if (!program) throw notFound(`it is not in PATH (${PATH})`);
    // The state to restore is handed over as a descriptor: a jailed QEMU neither sees the file nor may run `cat`.
    const stateFd = config.restoreFrom !== undefined ? fs.openSync(config.restoreFrom, 'r') : undefined;
    const keepFds = stateFd !== undefined ? [RESTORE_FD] : [];
    const jail = options.jail;
    // Non-detached: the VM dies with this process, even on SIGKILL; it inherits no descriptor (launch-argv.ts).
    const [cmd, args] = launchArgv({
      command: program, args: argv, dieWithParent: !options.detached, keepFds,
      ...(jail ? { jailer: jailerLaunch(jail.launcherPath, (parentPid) => vmmJail({ ...jail.box, parentPid }, program, argv, vmmFiles(config), keepFds)) } : {}),
    });
    const env = { ...childEnvironment(jail?.box.policy), ...memoryFileEnv(config) };
    let child: ChildProcess;
    try {
      // Always its own session (`detached: true` is setsid): a Ctrl-C sends SIGINT to the terminal's foreground
      // process group, which must reach the embedding program (e.g. the CLI, to forward it into the box), not kill
      // the VM. A non-detached VM still dies with this process: that is the parent-death signal, not the group.
      child = spawn(cmd, args, {
        stdio: ['ignore', 'ignore', 'pipe', ...(stateFd !== undefined ? [stateFd] : [])], detached: true,
        env,
      });
    } finally {
      if (stateFd !== undefined) fs.closeSync(stateFd);
    }
    if (child.pid !== undefined) options.onSpawn?.({ pid: child.pid, start: processStartTime(child.pid) ?? 0 });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(notFound(err.message, err)));
    });
    const vm = new ChildVm(child, options.consoleLogPath, jail?.box.uid);
    void captureConsole(config.consoleSocketPath, new ConsoleLog(options.consoleLogPath), vm);
    if (config.restoreFrom !== undefined && config.controlSocketPath) {
      try {
        await loadState(config, vm);
      } catch (err) {
        // A QEMU that quit over the state says why on stderr; that beats "QMP connection closed".
        const exit = await orTimeout(vm.exited, 1000, undefined);
        await vm.kill();
        if (exit?.stderr) throw boxliteError('Engine', `VM ${vm.pid} could not load the saved state ${config.restoreFrom}: QEMU said: ${exit.stderr}`, err);
        throw err;
      }
    }
    return vm;
  }

  async saveState(vm: RunningVm, config: SaveTarget, statePath: string, options: SaveOptions = {}): Promise<SavedStream> {
    if (!config.controlSocketPath) throw boxliteError('Config', 'saving a VM needs the controlSocketPath it was launched with');
    const qmp = await QmpClient.connect(config.controlSocketPath, `VM ${vm.pid}`);
    // QEMU sends its state to a socket beside its control socket, where this process writes it to statePath: a
    // jailed QEMU may neither run a program (`exec:`) nor see statePath.
    const uid = options.uid ?? (vm instanceof ChildVm ? vm.uid : undefined);
    const receiver = await receiveState(path.join(path.dirname(config.controlSocketPath), 'migrate.sock'), statePath, uid, options.maxBytes ?? DEFAULT_MAX_STATE_BYTES);
    let stopped = false;
    let saved = false;
    try {
      await qmp.execute('stop');
      stopped = true;
      await options.whileStopped?.();
      // RAM in a shared file stays there: the state holds only the devices (and the file is the template's RAM).
      // Set either way: a VM restored from a template loaded its state with it on, and would keep it on.
      await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: config.ramInSharedFile === true }] });
      await qmp.execute('migrate', { uri: `unix:${receiver.socketPath}` });
      for (const deadline = Date.now() + SAVE_TIMEOUT_MS; ;) {
        const info = await qmp.execute('query-migrate') as { status?: string; 'error-desc'?: string };
        if (info.status === 'completed') break;
        if (info.status === 'failed' || info.status === 'cancelled') throw boxliteError('Engine', `saving VM ${vm.pid} to ${statePath} failed: ${info['error-desc'] ?? info.status}`);
        if (Date.now() > deadline) throw boxliteError('Engine', `saving VM ${vm.pid} to ${statePath} did not finish within ${SAVE_TIMEOUT_MS / 1000} s`);
        await sleep(20);
      }
      const stream = await orTimeout(receiver.done, SAVE_TIMEOUT_MS, undefined);
      if (!stream) throw boxliteError('Engine', `saving VM ${vm.pid} to ${statePath}: the state stream did not end within ${SAVE_TIMEOUT_MS / 1000} s`);
      saved = true;
      if (options.keepRunning) {
        await qmp.execute('cont');
        stopped = false;
      } else {
        await qmp.execute('quit').catch(() => undefined); // QEMU may close the socket before it answers
      }
      return stream;
    } catch (err) {
      // A failed save leaves the VM running as it was (a full disk must not cost the box); the half-written state
      // is not kept. A VM whose state was saved but that would not continue is a failure of its own.
      if (stopped && !saved) {
        await qmp.execute('migrate_cancel').catch(() => undefined);
        await qmp.execute('cont').catch(() => undefined);
      }
      if (!saved) await fs.promises.rm(statePath, { force: true });
      throw err;
    } finally {
      receiver.close();
      qmp.close();
      if (saved && !options.keepRunning) await vm.kill();
    }
  }

  adopt(pid: number, pidStart: number, marker: string, consoleLogPath: string): RunningVm | undefined {
    if (processStartTime(pid) !== pidStart || !isAlive({ pid, start: pidStart })) return undefined;
    const cmdline = commandLine(pid);
    if (!cmdline?.includes(QEMU_BINARY) || !cmdline.includes(marker)) return undefined;
    return new AdoptedVm(pid, pidStart, consoleLogPath);
  }
}

/**
 * Loads the saved state (descriptor RESTORE_FD) into a VM started with `-incoming defer`, and waits for the outcome:
 * QEMU 7.2 does not always exit when an incoming state fails to load (it may reset and boot the guest), so a bad
 * state is an error at once. A template's RAM file mapped copy-on-write is not in the state (x-ignore-shared, which
 * QEMU 7.2 takes only over QMP, must be on before it is read); any other VM's state holds its RAM, which takes longer.
 */
async function loadState(config: VmConfig, vm: RunningVm): Promise<void> {
  const qmp = await QmpClient.connect(config.controlSocketPath!, `VM ${vm.pid}`);
  const ignoreShared = config.memoryFile !== undefined && !config.memoryFile.shared;
  const bytes = fs.statSync(config.restoreFrom!, { throwIfNoEntry: false })?.size ?? 0;
  const timeoutMs = LOAD_TIMEOUT_MS + Math.ceil(bytes / LOAD_BYTES_PER_MS);
  try {
    if (ignoreShared) await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: true }] });
    await qmp.execute('migrate-incoming', { uri: `fd:${RESTORE_FD}` });
    for (let attempt = 0, deadline = Date.now() + timeoutMs; ; attempt++) {
      const info = await qmp.execute('query-migrate') as { status?: string; 'error-desc'?: string };
      if (info.status === 'completed') return;
      if (info.status === 'failed' || info.status === 'cancelled') {
        throw boxliteError('Engine', `VM ${vm.pid} could not load the saved state ${config.restoreFrom}: ${info['error-desc'] ?? info.status}`);
      }
      if (Date.now() > deadline) {
        const why = `VM ${vm.pid} did not load the saved state ${config.restoreFrom} within ${Math.round(timeoutMs / 1000)} s`;
        throw boxliteError('Engine', why, new DeadlinePassed(why));
      }
      await sleep(pollDelayMs(attempt, 10));
    }
  } finally {
    qmp.close();
  }
}

/** The environment that maps a template's RAM file read-only into a restored VM (see VmConfig.memoryFile). */
export function memoryFileEnv(config: VmConfig): Record<string, string> {
  const m = config.memoryFile;
  return m && !m.shared && m.readOnlyShim ? { LD_PRELOAD: m.readOnlyShim, BOXLITE_RO_RAM: m.path } : {};
}

/** The files and socket directories a VM of `config` needs in its jail. */
export function vmmFiles(config: VmConfig): VmmFiles {
  const dirs = (paths: ReadonlyArray<string | undefined>): string[] => [...new Set(paths.filter((p): p is string => p !== undefined).map((p) => path.dirname(p)))];
  const serving = dirs([config.consoleSocketPath, ...config.portalSocketPaths, config.controlSocketPath]);
  return {
    readOnly: [config.kernelPath, config.initrdPath, ...config.disks.filter((d) => d.readOnly).map((d) => d.path),
      ...config.disks.flatMap((d) => d.backingFiles ?? []), // a qcow2 chain's lower files: QEMU opens them read-only
      ...(config.memoryFile && !config.memoryFile.shared ? [config.memoryFile.path, ...(config.memoryFile.readOnlyShim ? [config.memoryFile.readOnlyShim] : [])] : [])],
    readWrite: [...config.disks.filter((d) => !d.readOnly).map((d) => d.path), ...(config.memoryFile?.shared ? [config.memoryFile.path] : [])],
    env: memoryFileEnv(config),
    socketDirs: serving,
    connectDirs: dirs([config.networkSocketPath, ...(config.volumes ?? []).map((v) => v.socketPath)]).filter((d) => !serving.includes(d)),
    devices: config.accelerator === 'kvm' ? ['/dev/kvm'] : [],
  };
}

/** Listens on `socketPath` (for `uid` to connect to) and writes the one stream it receives to `statePath`, hashing it. */
async function receiveState(socketPath: string, statePath: string, uid: number | undefined, maxBytes: number): Promise<{ socketPath: string; done: Promise<SavedStream>; close(): void }> {
  await fs.promises.rm(socketPath, { force: true });
  let resolveDone!: (s: SavedStream) => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<SavedStream>((resolve, reject) => { resolveDone = resolve; rejectDone = reject; });
  done.catch(() => undefined);
  const server = net.createServer({ allowHalfOpen: false }, (socket) => {
    server.close(); // one stream only
    const hash = createHash('sha256');
    let bytes = 0;
    socket.on('data', (c: Buffer) => {
      hash.update(c);
      bytes += c.length;
      if (bytes > maxBytes) socket.destroy(boxliteError('Engine', `the VM's state stream to ${statePath} went past ${maxBytes} bytes, more than its memory and devices can take: refused`));
    });
    pipeline(socket, fs.createWriteStream(statePath, { mode: 0o600 }))
      .then(() => resolveDone({ bytes, sha256: hash.digest('hex') }), rejectDone);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  if (uid !== undefined) fs.lchownSync(socketPath, uid, uid); // its directory is the VM's uid's: never follow a symlink
  return { socketPath, done, close: () => { server.close(); fs.rmSync(socketPath, { force: true }); } };
}

// Copies the console socket into the capped log until the VM exits; output before we connect is lost.
async function captureConsole(socketPath: string, log: ConsoleLog, vm: RunningVm): Promise<void> {
  for (let i = 0; i < 500 && !vm.hasExited; i++) {
    const socket = await new Promise<net.Socket | undefined>((resolve) => {
      const s = net.createConnection({ path: socketPath });
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(undefined));
    });
    if (socket) {
      socket.unref();
      socket.on('data', (c: Buffer) => log.append(c));
      socket.on('error', () => undefined);
      socket.once('close', () => log.close());
      void vm.exited.then(() => socket.destroy());
      return;
    }
    await sleep(10);
  }
  log.close();
}

// A VM this process launched: exit comes from the child process.
class ChildVm implements RunningVm {
  readonly pid: number;
  readonly pidStart: number;
  readonly exited: Promise<VmExit>;
  private exitInfo: VmExit | undefined;
  private stderrTail = '';

  constructor(private readonly child: ChildProcess, readonly consoleLogPath: string, readonly uid?: number) {
    this.pid = child.pid!;
    this.pidStart = processStartTime(this.pid) ?? 0;
    child.stderr!.on('data', (c: Buffer) => { this.stderrTail = (this.stderrTail + c.toString('utf8')).slice(-4096); });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal, stderr: this.stderrTail.trim() };
        resolve(this.exitInfo);
      });
    });
    // Neither the VM nor its pipe keeps this process alive; a non-detached VM dies with it.
    child.unref();
    (child.stderr as net.Socket).unref();
  }

  get hasExited(): boolean { return this.exitInfo !== undefined; }
  consoleTail(maxLines?: number): string { return consoleTail(this.consoleLogPath, maxLines); }

  async kill(): Promise<VmExit> {
    if (!this.exitInfo) {
      this.child.ref(); // the caller waits for the exit: keep the event loop alive until it comes
      this.child.kill('SIGKILL');
    }
    return this.exited;
  }
}

// A VM another process launched: its exit is noticed by polling /proc (pid + start time).
class AdoptedVm implements RunningVm {
  readonly exited: Promise<VmExit>;
  private gone = false;

  constructor(readonly pid: number, readonly pidStart: number, readonly consoleLogPath: string) {
    this.exited = new Promise((resolve) => {
      const timer = setInterval(() => {
        if (isAlive({ pid, start: pidStart })) return;
        clearInterval(timer);
        this.gone = true;
        resolve({ code: null, signal: null, stderr: '' });
      }, 100);
      timer.unref();
    });
  }

  get hasExited(): boolean { return this.gone || !isAlive({ pid: this.pid, start: this.pidStart }); }
  consoleTail(maxLines?: number): string { return consoleTail(this.consoleLogPath, maxLines); }

  async kill(): Promise<VmExit> {
    if (isAlive({ pid: this.pid, start: this.pidStart })) {
      try { process.kill(this.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    // The caller waits for the exit: keep the event loop alive until the poll sees it (the poll timer is unref'd).
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      return await this.exited;
    } finally {
      clearInterval(keepAlive);
    }
  }
}
