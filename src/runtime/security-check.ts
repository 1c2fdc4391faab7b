// Validation of security options (from the builder, a JS object or a database row), naming the exact field.
import { boxliteError } from '../errors.js';
import type { ResourceLimits, SecurityJson, SecurityPreset } from './security.js';

const MIB = 1024 * 1024;
const MAX = Number.MAX_SAFE_INTEGER;

/** The preset names, as `SecurityOptions.preset` and the persisted `preset` field hold them. */
export const PRESETS: readonly SecurityPreset[] = ['development', 'standard', 'maximum', 'custom'];

/** The fields of the persisted form, in the spec's order (`preset` first). */
export const SECURITY_FIELDS: ReadonlyArray<keyof SecurityJson> = [
  'preset', 'jailerEnabled', 'seccompEnabled', 'uid', 'gid', 'newPidNs', 'newNetNs', 'chrootBase', 'chrootEnabled',
  'closeFds', 'sanitizeEnv', 'envAllowlist', 'resourceLimits', 'sandboxProfile', 'networkEnabled',
];

const FLAGS = ['jailerEnabled', 'seccompEnabled', 'newPidNs', 'newNetNs', 'chrootEnabled', 'closeFds', 'sanitizeEnv', 'networkEnabled'] as const;

/** Each limit's bounds and unit: [min, max, unit shown in messages]. */
const LIMITS: Record<keyof ResourceLimits, readonly [number, number, string]> = {
  maxOpenFiles: [64, 1048576, ''],
  maxFileSize: [MIB, MAX, ' (bytes; at least 1 MiB)'],
  maxProcesses: [16, 4194304, ''],
  maxMemory: [256 * MIB, MAX, ' (bytes; at least 256 MiB)'],
  maxCpuTime: [1, MAX, ' (seconds)'],
};

const invalid = (msg: string): never => { throw boxliteError('InvalidArgument', msg); };
const show = (v: unknown): string => (typeof v === 'number' || typeof v === 'bigint' ? String(v) : JSON.stringify(v) ?? String(v));
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A plain object of security fields merged over the preset it names (`preset`, default `standard`; `custom` starts
 * from the builder's defaults), validated. A field set to `undefined` counts as absent. The result's `preset` stays
 * the base's name only when every value equals the base's, else it is `custom`.
 */
export function checkSecurity(value: unknown, field: string, bases: Readonly<Record<SecurityPreset, SecurityJson>>): SecurityJson {
  if (!isRecord(value)) {
    return invalid(`${field} must be a SecurityOptions (e.g. SecurityOptions.standard()) or a plain object of its fields, got ${show(value)}`);
  }
  knownKeys(value, SECURITY_FIELDS, field);
  const presetName = value.preset ?? 'standard';
  if (!PRESETS.includes(presetName as SecurityPreset)) invalid(`${field}.preset must be one of ${PRESETS.join(', ')}, got ${show(presetName)}`);
  const base = bases[presetName as SecurityPreset];
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(value)) if (v !== undefined) merged[k] = v;
  const checked = checkFields(merged, field);
  return { ...checked, preset: sameValues(checked, base) ? base.preset : 'custom' };
}

/** True when two security objects hold the same values (the allowlist compared as a set); `preset` is ignored. */
export function sameValues(a: SecurityJson, b: SecurityJson): boolean {
  const key = (s: SecurityJson): string => JSON.stringify(canonical({ ...s, preset: 'custom', envAllowlist: [...s.envAllowlist].sort() }));
  return key(a) === key(b);
}

function checkFields(o: Record<string, unknown>, field: string): SecurityJson {
  for (const f of FLAGS) if (typeof o[f] !== 'boolean') invalid(`${field}.${f} must be true or false, got ${show(o[f])}`);
  for (const f of ['uid', 'gid'] as const) {
    const v = o[f];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 4294967294)) {
      invalid(`${field}.${f} must be an integer between 1 and 4294967294, or absent to allocate one per box (0 is refused: the point is not to be root), got ${show(v)}`);
    }
  }
  const chrootBase = o.chrootBase;
  if (chrootBase !== undefined && (typeof chrootBase !== 'string' || !chrootBase.startsWith('/') || /[\0,]/.test(chrootBase))) {
    invalid(`${field}.chrootBase must be an absolute path without NUL or ",", or absent for <homeDir>/jails, got ${show(chrootBase)}`);
  }
  const profile = o.sandboxProfile;
  if (profile !== undefined && (typeof profile !== 'string' || profile === '' || profile.includes('\0'))) {
    invalid(`${field}.sandboxProfile must be a path to a sandbox profile (macOS only), or absent, got ${show(profile)}`);
  }
  return canonical({
    ...(o as unknown as SecurityJson),
    envAllowlist: checkAllowlist(o.envAllowlist, `${field}.envAllowlist`),
    resourceLimits: checkLimits(o.resourceLimits, `${field}.resourceLimits`),
  });
}

function checkAllowlist(v: unknown, field: string): string[] {
  if (!Array.isArray(v)) return invalid(`${field} must be an array of environment variable names, got ${show(v)}`);
  v.forEach((name: unknown, i) => {
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      invalid(`${field}[${i}] must be an environment variable name (letters, digits and "_", not starting with a digit), got ${show(name)}`);
    }
  });
  return [...new Set(v as string[])];
}

function checkLimits(v: unknown, field: string): ResourceLimits {
  if (!isRecord(v)) return invalid(`${field} must be an object of limits (${Object.keys(LIMITS).join(', ')}), got ${show(v)}`);
  knownKeys(v, Object.keys(LIMITS), field);
  const out: ResourceLimits = {};
  for (const [name, [min, max, unit]] of Object.entries(LIMITS) as Array<[keyof ResourceLimits, readonly [number, number, string]]>) {
    const n = v[name];
    if (n === undefined) continue;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) {
      invalid(`${field}.${name} must be an integer between ${min} and ${max}${unit}, got ${show(n)}`);
    }
    out[name] = n as number;
  }
  return out;
}

function knownKeys(o: Record<string, unknown>, known: readonly string[], field: string): void {
  const unknown = Object.keys(o).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    invalid(`unknown ${unknown.length === 1 ? 'field' : 'fields'} ${unknown.map((k) => `${field}.${k}`).join(', ')} (a typo?); the fields are ${known.join(', ')}`);
  }
}

/** The fields in a fixed order, undefined ones left out (so equal values give equal JSON). */
function canonical(s: SecurityJson): SecurityJson {
  const out: Record<string, unknown> = {};
  for (const f of SECURITY_FIELDS) if (s[f] !== undefined) out[f] = s[f];
  const limits: Record<string, unknown> = {};
  for (const f of Object.keys(LIMITS) as Array<keyof ResourceLimits>) if (s.resourceLimits[f] !== undefined) limits[f] = s.resourceLimits[f];
  out.resourceLimits = limits;
  return out as unknown as SecurityJson;
}
