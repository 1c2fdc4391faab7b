// SecurityOptions of the spec: how a box's host processes are isolated, its three presets and its builder.
import path from 'node:path';
import { boxliteError } from '../errors.js';
import { checkSecurity } from './security-check.js';

/**
 * Resource limits (rlimits) of a box's jailed host processes. Absent: the limit is left as inherited.
 * Has no effect unless `jailerEnabled`.
 */
export interface ResourceLimits {
  /** Open file descriptors per process (RLIMIT_NOFILE), 64..1048576. */
  maxOpenFiles?: number;
  /** Largest file a process may write, in bytes (RLIMIT_FSIZE), at least 1 MiB and no less than the box's disk. */
  maxFileSize?: number;
  /** Processes (threads included) of the jail's uid (RLIMIT_NPROC), 16..4194304. */
  maxProcesses?: number;
  /** Virtual address space per process, in bytes (RLIMIT_AS), at least 256 MiB. */
  maxMemory?: number;
  /** CPU time per process, in seconds (RLIMIT_CPU), at least 1. */
  maxCpuTime?: number;
}

/** Which preset a SecurityOptions started from; `custom` once it differs from it, or when built from `new()`. */
export type SecurityPreset = 'development' | 'standard' | 'maximum' | 'custom';

/**
 * The plain JSON form of SecurityOptions (`toJSON()`), as persisted with a box; `SecurityOptions.from()` reads it back.
 * Optional fields are absent when unset.
 */
export interface SecurityJson {
  preset: SecurityPreset;
  jailerEnabled: boolean;
  seccompEnabled: boolean;
  uid?: number;
  gid?: number;
  newPidNs: boolean;
  newNetNs: boolean;
  chrootBase?: string;
  chrootEnabled: boolean;
  closeFds: boolean;
  sanitizeEnv: boolean;
  envAllowlist: string[];
  resourceLimits: ResourceLimits;
  sandboxProfile?: string;
  networkEnabled: boolean;
}

const STANDARD: SecurityJson = {
  preset: 'standard', jailerEnabled: true, seccompEnabled: true, newPidNs: true, newNetNs: true, chrootEnabled: true,
  closeFds: true, sanitizeEnv: true, envAllowlist: ['PATH', 'LANG', 'LC_ALL', 'TZ'], resourceLimits: {}, networkEnabled: true,
};

/** Every preset's values; `custom` is the builder's `new()` start. */
const BASES: Readonly<Record<SecurityPreset, SecurityJson>> = {
  development: {
    preset: 'development', jailerEnabled: false, seccompEnabled: false, newPidNs: false, newNetNs: false, chrootEnabled: false,
    closeFds: false, sanitizeEnv: false, envAllowlist: [], resourceLimits: {}, networkEnabled: true,
  },
  standard: STANDARD,
  maximum: {
    ...STANDARD, preset: 'maximum', uid: 65534, gid: 65534, envAllowlist: ['PATH'], resourceLimits: { maxOpenFiles: 1024, maxProcesses: 512 },
  },
  custom: { ...STANDARD, preset: 'custom' },
};

/**
 * How a box's host processes (the VMM and its helpers) are isolated from the host: the spec's SecurityOptions.
 * Immutable; made by a preset (`development()`, `standard()`, `maximum()`), by `builder()`, or by `from()`.
 * See [docs/security.md](../../docs/security.md) for what each field does.
 *
 * When `jailerEnabled` is false, the jail fields (`uid`, `gid`, `newPidNs`, `newNetNs`, `chrootBase`,
 * `chrootEnabled`, `closeFds`, `sanitizeEnv`, `envAllowlist`, `resourceLimits`) have no effect;
 * `seccompEnabled` works independently of it. `sandboxProfile` and `networkEnabled` are macOS-only: accepted and
 * stored, without effect on Linux.
 *
 * @example
 * ```ts
 * const box = await runtime.create({ security: SecurityOptions.maximum() });
 * ```
 */
export class SecurityOptions {
  /** The preset these options started from; `custom` when they differ from it or were built from `new()`. */
  readonly preset: SecurityPreset;
  /** Run the box's host processes in a jail (Linux: namespaces, chroot, uid drop, rlimits). */
  readonly jailerEnabled: boolean;
  /** Filter the host processes' system calls with seccomp (Linux only); independent of `jailerEnabled`. */
  readonly seccompEnabled: boolean;
  /** Uid the jailed processes drop to (Linux); undefined: one is allocated per box. Never 0. */
  readonly uid?: number;
  /** Gid the jailed processes drop to (Linux); undefined: one is allocated per box. Never 0. */
  readonly gid?: number;
  /** Give the jailed processes their own PID namespace (Linux). */
  readonly newPidNs: boolean;
  /** Give the jailed processes their own network namespace (Linux). */
  readonly newNetNs: boolean;
  /** Directory under which each box's chroot jail is made; undefined: `<homeDir>/jails` (see `chrootBaseOf`). */
  readonly chrootBase: string | undefined;
  /** Chroot the jailed processes into a directory holding only their files (Linux). */
  readonly chrootEnabled: boolean;
  /** Close every inherited file descriptor except those the process needs. */
  readonly closeFds: boolean;
  /** Clear the environment of the jailed processes, keeping only `envAllowlist`. */
  readonly sanitizeEnv: boolean;
  /** Environment variables kept when `sanitizeEnv` is on. */
  readonly envAllowlist: readonly string[];
  /** Rlimits of the jailed processes. */
  readonly resourceLimits: Readonly<ResourceLimits>;
  /** A sandbox-exec profile (macOS only; no effect on Linux). */
  readonly sandboxProfile?: string;
  /** Network access of the sandbox (macOS only; no effect on Linux). */
  readonly networkEnabled: boolean;

  private constructor(s: SecurityJson) {
    this.preset = s.preset;
    this.jailerEnabled = s.jailerEnabled;
    this.seccompEnabled = s.seccompEnabled;
    if (s.uid !== undefined) this.uid = s.uid;
    if (s.gid !== undefined) this.gid = s.gid;
    this.newPidNs = s.newPidNs;
    this.newNetNs = s.newNetNs;
    this.chrootBase = s.chrootBase;
    this.chrootEnabled = s.chrootEnabled;
    this.closeFds = s.closeFds;
    this.sanitizeEnv = s.sanitizeEnv;
    this.envAllowlist = Object.freeze([...s.envAllowlist]);
    this.resourceLimits = Object.freeze({ ...s.resourceLimits });
    if (s.sandboxProfile !== undefined) this.sandboxProfile = s.sandboxProfile;
    this.networkEnabled = s.networkEnabled;
    Object.freeze(this);
  }

  /** Minimal isolation, for debugging: no jailer, no seccomp, nothing closed or cleared. */
  static development(): SecurityOptions { return new SecurityOptions(BASES.development); }

  /**
   * The default: jailer and seccomp on, own PID and network namespaces, chroot, inherited fds closed, environment
   * cleared but for PATH, LANG, LC_ALL and TZ, a uid and gid allocated per box, no rlimits.
   */
  static standard(): SecurityOptions { return new SecurityOptions(BASES.standard); }

  /** As `standard()`, plus uid and gid 65534 (nobody), only PATH kept, at most 1024 open files and 512 processes. */
  static maximum(): SecurityOptions { return new SecurityOptions(BASES.maximum); }

  /** A builder starting from the defaults of `SecurityOptionsBuilder.new()` (the values of `standard()`). */
  static builder(): SecurityOptionsBuilder { return SecurityOptionsBuilder.new(); }

  /**
   * Validates `value` into SecurityOptions: a SecurityOptions is returned as is; a plain object (the persisted
   * `toJSON()` form, or one written by hand) is merged over the preset its `preset` field names (default
   * `standard`; `custom`: the builder's defaults). `resourceLimits`, when given, replaces the preset's limits as
   * a whole; a field set to `undefined` counts as absent. Throws InvalidArgument naming the field (under `field`),
   * unknown fields included.
   */
  static from(value: unknown, field = 'security'): SecurityOptions {
    if (value instanceof SecurityOptions) return value;
    return new SecurityOptions(checkSecurity(value, field, BASES));
  }

  /** The plain JSON form (unset optional fields left out), which `from()` reads back to equal options. */
  toJSON(): SecurityJson {
    return {
      preset: this.preset, jailerEnabled: this.jailerEnabled, seccompEnabled: this.seccompEnabled,
      ...(this.uid !== undefined ? { uid: this.uid } : {}), ...(this.gid !== undefined ? { gid: this.gid } : {}),
      newPidNs: this.newPidNs, newNetNs: this.newNetNs, ...(this.chrootBase !== undefined ? { chrootBase: this.chrootBase } : {}),
      chrootEnabled: this.chrootEnabled, closeFds: this.closeFds, sanitizeEnv: this.sanitizeEnv,
      envAllowlist: [...this.envAllowlist], resourceLimits: { ...this.resourceLimits },
      ...(this.sandboxProfile !== undefined ? { sandboxProfile: this.sandboxProfile } : {}), networkEnabled: this.networkEnabled,
    };
  }
}

/** Where a box's chroot jails go: `chrootBase`, else `<homeDir>/jails`. */
export function chrootBaseOf(security: SecurityOptions, homeDir: string): string {
  return security.chrootBase ?? path.join(homeDir, 'jails');
}

/** A `--security` flag as SecurityOptions (undefined when absent); InvalidArgument naming the flag and the choices. */
export function parseSecurityFlag(value: string | undefined): SecurityOptions | undefined {
  if (value === undefined) return undefined;
  if (value === 'development' || value === 'standard' || value === 'maximum') return SecurityOptions[value]();
  throw boxliteError('InvalidArgument', `--security must be one of development, standard, maximum, got ${JSON.stringify(value)}`);
}

/**
 * Fluent builder of SecurityOptions (the spec's SecurityOptionsBuilder); every setter returns the builder, and
 * `build()` validates (as `SecurityOptions.from()` does) and returns frozen options. The built options keep the
 * starting preset's name (`new()` starts as `custom`) when their values equal that preset's, else they are `custom`.
 *
 * @example
 * ```ts
 * const security = SecurityOptionsBuilder.standard()
 *   .maxOpenFiles(2048).maxFileSizeBytes(512 * 1024 * 1024).maxProcesses(100).allowEnv('MY_VAR').build();
 * ```
 */
export class SecurityOptionsBuilder {
  private readonly draft: SecurityJson;

  private constructor(start: SecurityPreset) {
    const base = BASES[start];
    this.draft = { ...base, envAllowlist: [...base.envAllowlist], resourceLimits: { ...base.resourceLimits } };
  }

  /** Starts from the defaults: the values of `standard()`, named `custom`. */
  static new(): SecurityOptionsBuilder { return new SecurityOptionsBuilder('custom'); }
  /** Starts from `SecurityOptions.development()`. */
  static development(): SecurityOptionsBuilder { return new SecurityOptionsBuilder('development'); }
  /** Starts from `SecurityOptions.standard()`. */
  static standard(): SecurityOptionsBuilder { return new SecurityOptionsBuilder('standard'); }
  /** Starts from `SecurityOptions.maximum()`. */
  static maximum(): SecurityOptionsBuilder { return new SecurityOptionsBuilder('maximum'); }

  /** Enables or disables the jailer. */
  jailerEnabled(enabled: boolean): this { return this.set('jailerEnabled', enabled); }
  /** Enables or disables seccomp filtering (Linux). */
  seccompEnabled(enabled: boolean): this { return this.set('seccompEnabled', enabled); }
  /** Sets the uid to drop to (1..4294967294). */
  uid(uid: number): this { return this.set('uid', uid); }
  /** Sets the gid to drop to (1..4294967294). */
  gid(gid: number): this { return this.set('gid', gid); }
  /** Enables or disables the new PID namespace. */
  newPidNs(enabled: boolean): this { return this.set('newPidNs', enabled); }
  /** Enables or disables the new network namespace. */
  newNetNs(enabled: boolean): this { return this.set('newNetNs', enabled); }
  /** Sets the directory under which chroot jails are made (absolute). */
  chrootBase(dir: string): this { return this.set('chrootBase', dir); }
  /** Enables or disables the chroot. */
  chrootEnabled(enabled: boolean): this { return this.set('chrootEnabled', enabled); }
  /** Closes inherited file descriptors, or not. */
  closeFds(enabled: boolean): this { return this.set('closeFds', enabled); }
  /** Clears the environment but for the allowlist, or not. */
  sanitizeEnv(enabled: boolean): this { return this.set('sanitizeEnv', enabled); }
  /** Replaces the environment allowlist. */
  envAllowlist(names: readonly string[]): this { return this.set('envAllowlist', [...names]); }
  /** Adds one variable to the environment allowlist (once). */
  allowEnv(name: string): this {
    return this.draft.envAllowlist.includes(name) ? this : this.set('envAllowlist', [...this.draft.envAllowlist, name]);
  }
  /** Replaces all resource limits. */
  resourceLimits(limits: ResourceLimits): this { return this.set('resourceLimits', { ...limits }); }
  /** RLIMIT_NOFILE. */
  maxOpenFiles(n: number): this { return this.limit('maxOpenFiles', n); }
  /** RLIMIT_FSIZE, in bytes (`resourceLimits.maxFileSize`). */
  maxFileSizeBytes(n: number): this { return this.limit('maxFileSize', n); }
  /** RLIMIT_NPROC. */
  maxProcesses(n: number): this { return this.limit('maxProcesses', n); }
  /** RLIMIT_AS, in bytes (`resourceLimits.maxMemory`). */
  maxMemoryBytes(n: number): this { return this.limit('maxMemory', n); }
  /** RLIMIT_CPU, in seconds (`resourceLimits.maxCpuTime`). */
  maxCpuTimeSeconds(n: number): this { return this.limit('maxCpuTime', n); }
  /** Sets the macOS sandbox profile (no effect on Linux). */
  sandboxProfile(file: string): this { return this.set('sandboxProfile', file); }
  /** Enables or disables the macOS sandbox's network (no effect on Linux). */
  networkEnabled(enabled: boolean): this { return this.set('networkEnabled', enabled); }

  /** Validates and returns the options; InvalidArgument naming the field otherwise. */
  build(): SecurityOptions { return SecurityOptions.from(this.draft); }

  private set<K extends keyof SecurityJson>(key: K, value: SecurityJson[K]): this {
    this.draft[key] = value;
    return this;
  }

  private limit(key: keyof ResourceLimits, n: number): this {
    this.draft.resourceLimits = { ...this.draft.resourceLimits, [key]: n };
    return this;
  }
}
