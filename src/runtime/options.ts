// BoxOptions and RuntimeOptions of the spec, with defaults and validation at the edge.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { boxliteError } from '../errors.js';
import { normalizeReference } from '../images/reference.js';
import type { CredentialMap } from '../images/registry/credentials.js';
import { checkUser } from './command.js';
import { upperDiskBytes } from './disks.js';
import type { AcceleratorPreference } from '../vmm/accel.js';
import type { PortForward } from '../vmm/network/passt.js';
import { resolvePorts } from './ports.js';
import { SecurityOptions, type SecurityJson } from './security.js';
import { resolveVolumes, type ResolvedVolume } from './volumes.js';
import { JAIL_UID_BASE, JAIL_UID_COUNT } from '../jailer/uids.js';
import { egressPolicyOf, resolveEgress, type EgressPolicy, type NetworkPolicy } from '../vmm/network/policy.js';
import { checkForwarderPossible } from '../vmm/network/dns.js';
import type { KernelFlavor } from '../setup/kernel-flavor.js';
import type { ProgressEvent } from '../setup/progress.js';

/** Where a box's root filesystem comes from: an OCI image reference, or a directory on the host. */
export type RootfsSpec = { image: string } | { rootfsPath: string };

/** A host directory mounted into the box. */
export interface VolumeSpec {
  /** An existing host directory. */
  hostPath: string;
  /** Where it appears in the box (absolute; made if missing). */
  guestPath: string;
  /** Read-only in the box, enforced on the host (default false). */
  readOnly?: boolean;
}

/**
 * The box network: its own network stack behind user-mode NAT (passt), reached only through `ports`, and what it
 * may reach (`{ egress }`, see NetworkPolicy; default `public`). `isolated` (the spec's NetworkSpec::Isolated) is the
 * default policy. Enforced on the host, not in the box.
 */
export type NetworkSpec = 'isolated' | NetworkPolicy;

/** A port forwarded from the host to the box. */
export interface PortSpec {
  /** Host port; 0 or absent: a free port is picked at each start (see `info().ports`). */
  hostPort?: number;
  guestPort: number;
  /** Default `tcp`. */
  protocol?: 'tcp' | 'udp';
  /** Host address to listen on (default `0.0.0.0`, as the spec says; `127.0.0.1` keeps it local). */
  hostIp?: string;
}

/** Options for `runtime.create()`. Every field is optional; defaults follow the spec. */
export interface BoxOptions {
  /** Virtual CPUs (default 2). */
  cpus?: number;
  /** Guest memory in MiB (default 512). */
  memoryMib?: number;
  /**
   * Size of the box's writable disk in GiB (2^30 bytes: `diskSizeGb: 1` gives the guest a 1073741824-byte disk), the
   * spec's name kept; sparse, it takes host space only as the box writes (default 10, at most 16384).
   */
  diskSizeGb?: number;
  /** Default working directory of commands (default: the image's, else `/`). */
  workingDir?: string;
  /** User every command runs as (`name`, `uid`, `name:group`, `uid:gid`…; default root); `BoxCommand.user` overrides it. */
  user?: string;
  /** Environment of every command, as a record or [key, value] pairs. */
  env?: Record<string, string> | ReadonlyArray<readonly [string, string]>;
  /** Root filesystem (default `{ image: 'alpine:latest' }`). */
  rootfs?: RootfsSpec;
  /** Host directories shared into the box (virtiofs). A box with volumes always boots cold (no snapshot). */
  volumes?: VolumeSpec[];
  network?: NetworkSpec;
  /** Ports published from the host to the box. */
  ports?: PortSpec[];
  /**
   * Bind-mount isolation of volumes. Always in effect: each volume's file server runs in its own mount namespace,
   * pivoted into the shared directory, so a box sees nothing of the host beyond it; the flag changes nothing.
   */
  isolateMounts?: boolean;
  /** Remove the box when it stops (default true). */
  autoRemove?: boolean;
  /** Keep the box running after this process exits (default false). */
  detach?: boolean;
  /** Labels shown by `info()`. */
  labels?: Record<string, string>;
  /** `auto` (default: KVM where it works, else TCG), `kvm` or `tcg`. Also `BOXLITE_ACCEL`. */
  accelerator?: AcceleratorPreference;
  /**
   * How the box's host processes (VMM and helpers) are isolated from the host: jailer, seccomp, namespaces,
   * chroot, uid, rlimits. Default `SecurityOptions.standard()`. See docs/security.md in the package.
   */
  security?: SecurityOptions;
}

/** @internal BoxOptions after defaults and validation. */
export interface ResolvedBoxOptions {
  cpus: number;
  memoryMib: number;
  diskSizeGb: number;
  /** Undefined: the image's working dir, else `/`. */
  workingDir: string | undefined;
  user?: string;
  env: Array<[string, string]>;
  rootfs: RootfsSpec;
  autoRemove: boolean;
  detach: boolean;
  labels: Record<string, string>;
  accelerator: AcceleratorPreference;
  /** Published ports (host port 0 = picked at start). Absent in boxes created before ports existed. */
  ports?: PortForward[];
  /** Shared host directories. Absent in boxes created before volumes existed. */
  volumes?: ResolvedVolume[];
  /** The network policy the box was created with (`box.updateNetwork` changes the current one). Absent in older boxes: `all`. */
  network?: { egress: EgressPolicy };
  /** Security options in their JSON form. Absent in boxes created before they existed: read those with `securityOf`. */
  security?: SecurityJson;
}

/** Options of a runtime (the spec's BoxliteOptions). */
export interface BoxliteOptions {
  /** Home directory for boxes, images and snapshots (default `BOXLITE_HOME` or `~/.boxlite`). Needs no set-up. */
  homeDir?: string;
  /**
   * The machine-wide cache of guest artifacts (kernel, initramfs, agent, jailer, patched passt), shared by every
   * home and built on the first start that needs it. Default `BOXLITE_CACHE_DIR`, else `/var/cache/boxlite` as
   * root, else `$XDG_CACHE_HOME/boxlite` or `~/.cache/boxlite` (an ordinary user also reads root's when it is up
   * to date). It must be writable by no other user.
   */
  cacheDir?: string;
  /**
   * The guest kernel boxes boot: `custom` (purpose-built from the package's guest/kernel/boxlite.config, compiled
   * once per cache in minutes; the cloud kernel stands in when it cannot be built) or `cloud` (Debian's). Default
   * `BOXLITE_KERNEL`, else what `boxlite setup --kernel` chose for the cache, else `cloud`.
   */
  kernel?: KernelFlavor;
  /**
   * Called with the progress of first-use work: building guest artifacts into the shared cache (`build-start`,
   * `step`, `build-done`, `guest-ready`), waiting for another builder, and each box's root disk from a rootfs
   * directory (`rootfs-disk`, reused or built). Must not throw.
   */
  onProgress?: (event: ProgressEvent) => void;
  /** Registries (hosts, or `host/namespace` prefixes such as `ghcr.io/myorg`) tried, in order, for unqualified image names, before docker.io. */
  imageRegistries?: string[];
  /** Registries (`host` or `host:port`) reached over plain http instead of https; loopback registries always are. */
  insecureRegistries?: string[];
  /** Credentials per registry host, used before those in `~/.docker/config.json` (`auths`, `credHelpers`, `credsStore`). */
  credentials?: CredentialMap;
  /** Longest wait, in ms, for a registry's response headers and between body chunks (default 30 000). */
  registryTimeoutMs?: number;
  /**
   * Start boxes by restoring a snapshot of an already-booted guest of the same shape (cpus, memory) instead of
   * booting the kernel: the first box of a shape makes the snapshot, later ones start in a fraction of the time.
   * Default true; `BOXLITE_SNAPSHOTS=0` in the environment turns it off.
   */
  snapshots?: boolean;
}

/** @internal Whether boxes start from snapshots: the option, else `BOXLITE_SNAPSHOTS` (`0` = off), else on. */
export function snapshotsEnabled(option?: boolean): boolean {
  if (option !== undefined) {
    if (typeof option !== 'boolean') invalid(`snapshots must be true or false, got ${JSON.stringify(option)}`);
    return option;
  }
  return process.env.BOXLITE_SNAPSHOTS !== '0';
}

/** @internal The home dir: the option, else `BOXLITE_HOME`, else `~/.boxlite`. */
export function resolveHomeDir(homeDir?: string): string {
  const dir = homeDir ?? process.env.BOXLITE_HOME ?? path.join(os.homedir(), '.boxlite');
  if (typeof dir !== 'string' || dir === '') throw boxliteError('InvalidArgument', `homeDir must be a non-empty path, got ${JSON.stringify(dir)}`);
  return path.resolve(dir);
}

/** @internal The spec's default box shape. */
export const DEFAULT_CPUS = 2;
/** @internal */
export const DEFAULT_MEMORY_MIB = 512;

const invalid = (msg: string): never => { throw boxliteError('InvalidArgument', msg); };

function intIn(name: string, v: unknown, min: number, max: number, unit: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    invalid(`${name} must be an integer between ${min} and ${max}${unit}, got ${typeof v === 'number' ? String(v) : JSON.stringify(v)}`);
  }
  return v as number;
}

/** @internal Applies defaults and validates; throws InvalidArgument naming the option to change. */
export function resolveBoxOptions(o: BoxOptions = {}): ResolvedBoxOptions {
  if (typeof o !== 'object' || o === null) invalid(`box options must be an object, got ${JSON.stringify(o)}`);
  const cpus = intIn('cpus', o.cpus ?? DEFAULT_CPUS, 1, Math.min(64, Math.max(1, os.cpus().length * 4)), '');
  const memoryMib = intIn('memoryMib', o.memoryMib ?? DEFAULT_MEMORY_MIB, 64, 65536, ' (MiB)');
  const diskSizeGb = intIn('diskSizeGb', o.diskSizeGb ?? 10, 1, 16384, ' (GiB)');
  const workingDir = o.workingDir;
  if (workingDir !== undefined && (typeof workingDir !== 'string' || !workingDir.startsWith('/') || workingDir.includes('\0'))) {
    invalid(`workingDir must be an absolute path inside the box, got ${JSON.stringify(workingDir)}`);
  }
  const user = o.user === undefined ? undefined : checkUser(o.user);
  const env = normalizeEnv(o.env);
  const rootfs = resolveRootfs(o.rootfs);
  const egress = resolveEgress(o.network);
  const labels = o.labels ?? {};
  for (const [k, v] of Object.entries(labels)) {
    if (k === '' || typeof v !== 'string') invalid(`labels must map non-empty names to strings, got ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  }
  const accelerator = o.accelerator ?? (process.env.BOXLITE_ACCEL as AcceleratorPreference | undefined) ?? 'auto';
  if (!['auto', 'kvm', 'tcg'].includes(accelerator)) invalid(`accelerator must be "auto", "kvm" or "tcg", got ${JSON.stringify(accelerator)}`);
  const security = resolveSecurity(o.security, diskSizeGb);
  checkForwarderPossible(egress, security);
  if (egress.mode === 'none' && o.ports?.length) invalid('ports cannot be published by a box with network egress "none" (it has no network device); drop ports or pick another egress');
  return {
    cpus, memoryMib, diskSizeGb, workingDir, user, env, rootfs, labels, accelerator, ports: resolvePorts(o.ports), volumes: resolveVolumes(o.volumes),
    network: { egress: egressPolicyOf(egress) },
    autoRemove: o.autoRemove ?? true,
    detach: o.detach ?? false,
    security: security.toJSON(),
  };
}

/** @internal The network policy a box was created with: as given, or `all` (what boxes did before policies) for older boxes. */
export function createdEgress(options: Pick<ResolvedBoxOptions, 'network'>): EgressPolicy {
  return options.network?.egress ?? 'all';
}

/** @internal A box's security options: as persisted, or `SecurityOptions.standard()` for boxes created before they existed. */
export function securityOf(options: Pick<ResolvedBoxOptions, 'security'>): SecurityOptions {
  return options.security === undefined ? SecurityOptions.standard() : SecurityOptions.from(options.security);
}

/**
 * Validates `security` (default standard), that RLIMIT_FSIZE leaves the VMM room to write the box's disk, and that
 * an explicit uid or gid is not one the jailer hands out.
 */
function resolveSecurity(value: SecurityOptions | undefined, diskSizeGb: number): SecurityOptions {
  const security = SecurityOptions.from(value ?? SecurityOptions.standard());
  const maxFileSize = security.resourceLimits.maxFileSize;
  const diskBytes = upperDiskBytes(diskSizeGb);
  if (maxFileSize !== undefined && maxFileSize < diskBytes) {
    invalid(`security.resourceLimits.maxFileSize (${maxFileSize} bytes) is smaller than the box's disk (diskSizeGb=${diskSizeGb}, ${diskBytes} bytes): ` +
      'the VMM writes that disk, so raise the limit or lower diskSizeGb');
  }
  for (const [field, id] of [['uid', security.uid], ['gid', security.gid]] as const) {
    if (id !== undefined && id >= JAIL_UID_BASE && id < JAIL_UID_BASE + JAIL_UID_COUNT) {
      invalid(`security.${field} ${id} is in ${JAIL_UID_BASE}..${JAIL_UID_BASE + JAIL_UID_COUNT - 1}, the range the jailer hands out to boxes one by one; leave it unset (a uid of the box's own) or pick one outside it`);
    }
  }
  return security;
}

function normalizeEnv(env: BoxOptions['env']): Array<[string, string]> {
  const pairs: Array<readonly [string, string]> = env === undefined ? [] : Array.isArray(env) ? env : Object.entries(env);
  return pairs.map(([k, v]) => {
    if (typeof k !== 'string' || !/^[^=\0]+$/.test(k)) invalid(`env names must be non-empty without "=" or NUL, got ${JSON.stringify(k)}`);
    if (typeof v !== 'string' || v.includes('\0')) invalid(`env value of ${k} must be a string without NUL, got ${JSON.stringify(v)}`);
    return [k, v];
  });
}

function resolveRootfs(spec: RootfsSpec | undefined): RootfsSpec {
  const r = spec ?? { image: 'alpine:latest' };
  if ('rootfsPath' in r) {
    if (typeof r.rootfsPath !== 'string' || r.rootfsPath === '') invalid(`rootfs.rootfsPath must be a directory path, got ${JSON.stringify(r.rootfsPath)}`);
    const abs = path.resolve(r.rootfsPath);
    let st: fs.Stats | undefined;
    try { st = fs.statSync(abs); } catch { /* reported below */ }
    if (!st?.isDirectory()) invalid(`rootfs.rootfsPath ${JSON.stringify(abs)} is not a directory: pass a directory that holds a root filesystem (with /bin/sh)`);
    return { rootfsPath: abs };
  }
  if ('image' in r) {
    if (typeof r.image !== 'string' || r.image.trim() === '') invalid(`rootfs.image must be an image reference such as "alpine:latest", got ${JSON.stringify(r.image)}`);
    normalizeReference(r.image); // throws InvalidArgument naming a malformed reference
    return { image: r.image };
  }
  return invalid(`rootfs must be { image } or { rootfsPath }, got ${JSON.stringify(r)}`);
}

/** @internal Validates a box name: 1–63 characters of letters, digits, `_.-`, starting with a letter or digit. */
export function validateBoxName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(name)) {
    invalid(`box name must be 1-63 characters of letters, digits, "_", "." or "-", starting with a letter or digit, got ${JSON.stringify(name)}`);
  }
  return name;
}
