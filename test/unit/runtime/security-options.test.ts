// SecurityOptions: presets, every builder method, validation naming the field, the JSON round trip, and box options.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { toInfo } from '../../../src/runtime/box.js';
import { resolveBoxOptions, securityOf, type BoxOptions, type ResolvedBoxOptions } from '../../../src/runtime/options.js';
import { BoxliteRuntime } from '../../../src/runtime/runtime.js';
import {
  chrootBaseOf, parseSecurityFlag, SecurityOptions, SecurityOptionsBuilder, type SecurityJson,
} from '../../../src/runtime/security.js';
import type { BoxRecord } from '../../../src/state/box-store.js';

const MIB = 1024 * 1024;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-sec-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const withRootfs = (o: BoxOptions): BoxOptions => ({ rootfs: { rootfsPath: dir }, ...o });
/** An InvalidArgument whose message contains `field` (and matches `re`, when given). */
const invalidNaming = (field: string, re?: RegExp) => (e: unknown): boolean =>
  BoxliteError.is(e) && e.code === 'InvalidArgument' && e.message.includes(field) && (re === undefined || re.test(e.message));

const STANDARD_FIELDS = {
  jailerEnabled: true, seccompEnabled: true, uid: undefined, gid: undefined, newPidNs: true, newNetNs: true,
  chrootBase: undefined, chrootEnabled: true, closeFds: true, sanitizeEnv: true, envAllowlist: ['PATH', 'LANG', 'LC_ALL', 'TZ'],
  resourceLimits: {}, sandboxProfile: undefined, networkEnabled: true,
};
const fieldsOf = (s: SecurityOptions): Record<string, unknown> =>
  Object.fromEntries(Object.keys(STANDARD_FIELDS).map((k) => [k, k === 'envAllowlist' ? [...s.envAllowlist] : k === 'resourceLimits' ? { ...s.resourceLimits } : s[k as keyof SecurityOptions]]));

describe('SecurityOptions presets', () => {
  it('development turns every isolation off, network on', () => {
    const s = SecurityOptions.development();
    assert.equal(s.preset, 'development');
    assert.deepEqual(fieldsOf(s), {
      ...STANDARD_FIELDS, jailerEnabled: false, seccompEnabled: false, newPidNs: false, newNetNs: false, chrootEnabled: false,
      closeFds: false, sanitizeEnv: false, envAllowlist: [],
    });
  });
  it('standard turns jailer, seccomp, namespaces, chroot, closeFds and sanitizeEnv on, uid/gid allocated per box', () => {
    const s = SecurityOptions.standard();
    assert.equal(s.preset, 'standard');
    assert.deepEqual(fieldsOf(s), STANDARD_FIELDS);
  });
  it('maximum is standard plus nobody, only PATH, and rlimits', () => {
    const s = SecurityOptions.maximum();
    assert.equal(s.preset, 'maximum');
    assert.deepEqual(fieldsOf(s), {
      ...STANDARD_FIELDS, uid: 65534, gid: 65534, envAllowlist: ['PATH'], resourceLimits: { maxOpenFiles: 1024, maxProcesses: 512 },
    });
  });
  it('builder() starts from the defaults: standard values, named custom', () => {
    const s = SecurityOptions.builder().build();
    assert.equal(s.preset, 'custom');
    assert.deepEqual(fieldsOf(s), STANDARD_FIELDS);
  });
  it('options are frozen, their lists and limits too', () => {
    const s = SecurityOptions.maximum();
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.envAllowlist) && Object.isFrozen(s.resourceLimits));
    assert.throws(() => { (s.envAllowlist as string[]).push('X'); }, TypeError);
    assert.deepEqual(SecurityOptions.maximum().envAllowlist, ['PATH'], 'a preset is not shared state');
  });
  it('chrootBase defaults to <homeDir>/jails', () => {
    assert.equal(chrootBaseOf(SecurityOptions.standard(), '/srv/bl'), '/srv/bl/jails');
    assert.equal(chrootBaseOf(SecurityOptionsBuilder.new().chrootBase('/var/jails').build(), '/srv/bl'), '/var/jails');
  });
});

describe('SecurityOptionsBuilder', () => {
  const b = (): SecurityOptionsBuilder => SecurityOptionsBuilder.new();
  // One row per method of the spec's table: what it does, checked on the built options.
  const table: Array<[string, () => SecurityOptions, (s: SecurityOptions) => void]> = [
    ['new()', () => SecurityOptionsBuilder.new().build(), (s) => { assert.equal(s.preset, 'custom'); assert.deepEqual(fieldsOf(s), STANDARD_FIELDS); }],
    ['development()', () => SecurityOptionsBuilder.development().build(), (s) => assert.deepEqual(s.toJSON(), SecurityOptions.development().toJSON())],
    ['standard()', () => SecurityOptionsBuilder.standard().build(), (s) => assert.deepEqual(s.toJSON(), SecurityOptions.standard().toJSON())],
    ['maximum()', () => SecurityOptionsBuilder.maximum().build(), (s) => assert.deepEqual(s.toJSON(), SecurityOptions.maximum().toJSON())],
    ['jailerEnabled', () => b().jailerEnabled(false).build(), (s) => assert.equal(s.jailerEnabled, false)],
    ['seccompEnabled', () => b().seccompEnabled(false).build(), (s) => assert.equal(s.seccompEnabled, false)],
    ['uid', () => b().uid(1234).build(), (s) => assert.equal(s.uid, 1234)],
    ['gid', () => b().gid(4321).build(), (s) => assert.equal(s.gid, 4321)],
    ['newPidNs', () => b().newPidNs(false).build(), (s) => assert.equal(s.newPidNs, false)],
    ['newNetNs', () => b().newNetNs(false).build(), (s) => assert.equal(s.newNetNs, false)],
    ['chrootBase', () => b().chrootBase('/var/jails').build(), (s) => assert.equal(s.chrootBase, '/var/jails')],
    ['chrootEnabled', () => b().chrootEnabled(false).build(), (s) => assert.equal(s.chrootEnabled, false)],
    ['closeFds', () => b().closeFds(false).build(), (s) => assert.equal(s.closeFds, false)],
    ['sanitizeEnv', () => b().sanitizeEnv(false).build(), (s) => assert.equal(s.sanitizeEnv, false)],
    ['envAllowlist', () => b().envAllowlist(['HOME', 'USER']).build(), (s) => assert.deepEqual(s.envAllowlist, ['HOME', 'USER'])],
    ['allowEnv', () => b().allowEnv('MY_VAR').allowEnv('PATH').build(), (s) => assert.deepEqual(s.envAllowlist, ['PATH', 'LANG', 'LC_ALL', 'TZ', 'MY_VAR'])],
    ['resourceLimits', () => b().maxOpenFiles(100).resourceLimits({ maxCpuTime: 60 }).build(), (s) => assert.deepEqual(s.resourceLimits, { maxCpuTime: 60 })],
    ['maxOpenFiles', () => b().maxOpenFiles(2048).build(), (s) => assert.equal(s.resourceLimits.maxOpenFiles, 2048)],
    ['maxFileSizeBytes', () => b().maxFileSizeBytes(512 * MIB).build(), (s) => assert.equal(s.resourceLimits.maxFileSize, 512 * MIB)],
    ['maxProcesses', () => b().maxProcesses(100).build(), (s) => assert.equal(s.resourceLimits.maxProcesses, 100)],
    ['maxMemoryBytes', () => b().maxMemoryBytes(2048 * MIB).build(), (s) => assert.equal(s.resourceLimits.maxMemory, 2048 * MIB)],
    ['maxCpuTimeSeconds', () => b().maxCpuTimeSeconds(3600).build(), (s) => assert.equal(s.resourceLimits.maxCpuTime, 3600)],
    ['sandboxProfile', () => b().sandboxProfile('/etc/box.sb').build(), (s) => assert.equal(s.sandboxProfile, '/etc/box.sb')],
    ['networkEnabled', () => b().networkEnabled(false).build(), (s) => assert.equal(s.networkEnabled, false)],
    ['build()', () => b().build(), (s) => { assert.ok(s instanceof SecurityOptions); assert.ok(Object.isFrozen(s)); }],
  ];
  for (const [method, build, check] of table) it(`${method} does what the spec's table says`, () => check(build()));

  it('covers all 25 methods of the spec table', () => assert.equal(table.length, 25));

  it('the spec example gives those values', () => {
    const s = SecurityOptionsBuilder.standard()
      .jailerEnabled(true).maxOpenFiles(2048).maxFileSizeBytes(1024 * 1024 * 512).maxProcesses(100).allowEnv('MY_VAR').build();
    assert.equal(s.jailerEnabled, true);
    assert.deepEqual(s.resourceLimits, { maxOpenFiles: 2048, maxFileSize: 512 * MIB, maxProcesses: 100 });
    assert.deepEqual(s.envAllowlist, ['PATH', 'LANG', 'LC_ALL', 'TZ', 'MY_VAR']);
    assert.equal(s.seccompEnabled, true);
    assert.equal(s.preset, 'custom');
    const t = SecurityOptions.builder().jailerEnabled(true).seccompEnabled(false).build();
    assert.equal(t.jailerEnabled, true);
    assert.equal(t.seccompEnabled, false);
  });

  it('keeps the starting preset\'s name while the values equal it, else custom', () => {
    assert.equal(SecurityOptionsBuilder.standard().jailerEnabled(true).build().preset, 'standard');
    assert.equal(SecurityOptionsBuilder.maximum().uid(65534).build().preset, 'maximum');
    assert.equal(SecurityOptionsBuilder.maximum().uid(1000).build().preset, 'custom');
    assert.equal(SecurityOptionsBuilder.development().closeFds(true).build().preset, 'custom');
  });

  it('build() validates like from()', () => {
    assert.throws(() => SecurityOptionsBuilder.new().uid(0).build(), invalidNaming('security.uid', /the point is not to be root/));
    assert.throws(() => SecurityOptionsBuilder.new().maxOpenFiles(-1).build(),
      invalidNaming('security.resourceLimits.maxOpenFiles must be an integer between 64 and 1048576, got -1'));
  });
});

describe('SecurityOptions.from validation', () => {
  const bad: Array<[string, unknown, string]> = [
    ['a string', 'maximum', 'security must be a SecurityOptions'],
    ['null', null, 'security must be'],
    ['an array', [], 'security must be'],
    ['an unknown preset', { preset: 'paranoid' }, 'security.preset'],
    ['a non-boolean jailerEnabled', { jailerEnabled: 'yes' }, 'security.jailerEnabled must be true or false'],
    ['a non-boolean seccompEnabled', { seccompEnabled: 1 }, 'security.seccompEnabled'],
    ['a non-boolean newPidNs', { newPidNs: null }, 'security.newPidNs'],
    ['a non-boolean newNetNs', { newNetNs: 'true' }, 'security.newNetNs'],
    ['a non-boolean chrootEnabled', { chrootEnabled: 0 }, 'security.chrootEnabled'],
    ['a non-boolean closeFds', { closeFds: {} }, 'security.closeFds'],
    ['a non-boolean sanitizeEnv', { sanitizeEnv: [] }, 'security.sanitizeEnv'],
    ['a non-boolean networkEnabled', { networkEnabled: 'no' }, 'security.networkEnabled'],
    ['uid 0', { uid: 0 }, 'security.uid must be an integer between 1 and 4294967294'],
    ['uid 2^32-1', { uid: 4294967295 }, 'security.uid'],
    ['a fractional gid', { gid: 1.5 }, 'security.gid'],
    ['gid 0', { gid: 0 }, 'security.gid'],
    ['a string uid', { uid: '1000' }, 'security.uid'],
    ['a relative chrootBase', { chrootBase: 'jails' }, 'security.chrootBase must be an absolute path'],
    ['a chrootBase with a comma', { chrootBase: '/a,b' }, 'security.chrootBase'],
    ['a chrootBase with NUL', { chrootBase: '/a\0b' }, 'security.chrootBase'],
    ['an envAllowlist that is not an array', { envAllowlist: 'PATH' }, 'security.envAllowlist must be an array'],
    ['an envAllowlist entry with "-"', { envAllowlist: ['PATH', 'A-B'] }, 'security.envAllowlist[1]'],
    ['an envAllowlist entry starting with a digit', { envAllowlist: ['1A'] }, 'security.envAllowlist[0]'],
    ['an envAllowlist entry with "="', { envAllowlist: ['A=B'] }, 'security.envAllowlist[0]'],
    ['resourceLimits not an object', { resourceLimits: 5 }, 'security.resourceLimits must be an object'],
    ['maxOpenFiles -1', { resourceLimits: { maxOpenFiles: -1 } }, 'security.resourceLimits.maxOpenFiles must be an integer between 64 and 1048576, got -1'],
    ['maxOpenFiles above 1048576', { resourceLimits: { maxOpenFiles: 1048577 } }, 'security.resourceLimits.maxOpenFiles'],
    ['maxProcesses 15', { resourceLimits: { maxProcesses: 15 } }, 'security.resourceLimits.maxProcesses must be an integer between 16 and 4194304'],
    ['maxProcesses above 4194304', { resourceLimits: { maxProcesses: 4194305 } }, 'security.resourceLimits.maxProcesses'],
    ['maxFileSize under 1 MiB', { resourceLimits: { maxFileSize: MIB - 1 } }, 'security.resourceLimits.maxFileSize must be an integer between 1048576'],
    ['maxMemory under 256 MiB', { resourceLimits: { maxMemory: 255 * MIB } }, 'security.resourceLimits.maxMemory must be an integer between 268435456'],
    ['maxCpuTime 0', { resourceLimits: { maxCpuTime: 0 } }, 'security.resourceLimits.maxCpuTime'],
    ['an unsafe integer limit', { resourceLimits: { maxMemory: 2 ** 60 } }, 'security.resourceLimits.maxMemory'],
    ['a fractional limit', { resourceLimits: { maxCpuTime: 1.5 } }, 'security.resourceLimits.maxCpuTime'],
    ['an unknown limit', { resourceLimits: { maxOpenFile: 100 } }, 'security.resourceLimits.maxOpenFile'],
    ['an unknown top-level field', { jailerEnable: true }, 'unknown field security.jailerEnable'],
    ['an empty sandboxProfile', { sandboxProfile: '' }, 'security.sandboxProfile'],
    ['a non-string sandboxProfile', { sandboxProfile: 1 }, 'security.sandboxProfile'],
  ];
  for (const [what, value, field] of bad) {
    it(`rejects ${what}, naming ${field.split(' ')[0]}`, () => assert.throws(() => SecurityOptions.from(value), invalidNaming(field)));
  }

  it('names every unknown field, under the field path given', () => {
    assert.throws(() => SecurityOptions.from({ a: 1, b: 2 }, 'opts.security'), invalidNaming('unknown fields opts.security.a, opts.security.b'));
  });

  it('merges a plain object over standard(), or over the preset it names', () => {
    const s = SecurityOptions.from({ seccompEnabled: false });
    assert.deepEqual(fieldsOf(s), { ...STANDARD_FIELDS, seccompEnabled: false });
    assert.equal(s.preset, 'custom');
    assert.equal(SecurityOptions.from({}).preset, 'standard');
    assert.equal(SecurityOptions.from({ uid: undefined }).uid, undefined, 'undefined counts as absent');
    const m = SecurityOptions.from({ preset: 'maximum', resourceLimits: { maxCpuTime: 10 } });
    assert.equal(m.uid, 65534);
    assert.deepEqual(m.resourceLimits, { maxCpuTime: 10 }, 'resourceLimits replaces the preset\'s as a whole');
  });

  it('returns a SecurityOptions as is', () => {
    const s = SecurityOptions.maximum();
    assert.equal(SecurityOptions.from(s), s);
  });

  it('toJSON and from round-trip every preset and a custom one, through JSON text', () => {
    const custom = SecurityOptionsBuilder.development().uid(1000).gid(1000).chrootBase('/j').sandboxProfile('/p.sb')
      .networkEnabled(false).maxMemoryBytes(1024 * MIB).maxCpuTimeSeconds(5).allowEnv('HOME').build();
    for (const s of [SecurityOptions.development(), SecurityOptions.standard(), SecurityOptions.maximum(), SecurityOptions.builder().build(), custom]) {
      const json = JSON.parse(JSON.stringify(s)) as SecurityJson;
      assert.deepEqual(json, s.toJSON());
      const back = SecurityOptions.from(json);
      assert.deepEqual(back.toJSON(), s.toJSON(), s.preset);
      assert.deepEqual(fieldsOf(back), fieldsOf(s));
    }
    assert.deepEqual(custom.toJSON(), {
      preset: 'custom', jailerEnabled: false, seccompEnabled: false, uid: 1000, gid: 1000, newPidNs: false, newNetNs: false,
      chrootBase: '/j', chrootEnabled: false, closeFds: false, sanitizeEnv: false, envAllowlist: ['HOME'],
      resourceLimits: { maxMemory: 1024 * MIB, maxCpuTime: 5 }, sandboxProfile: '/p.sb', networkEnabled: false,
    });
  });
});

describe('security in box options', () => {
  it('defaults to standard and persists it as JSON', () => {
    const r = resolveBoxOptions(withRootfs({}));
    assert.deepEqual(r.security, SecurityOptions.standard().toJSON());
    const back = JSON.parse(JSON.stringify(r)) as ResolvedBoxOptions;
    assert.deepEqual(securityOf(back).toJSON(), SecurityOptions.standard().toJSON());
  });
  it('accepts maximum, and reads it back from JSON', () => {
    const r = JSON.parse(JSON.stringify(resolveBoxOptions(withRootfs({ security: SecurityOptions.maximum() })))) as ResolvedBoxOptions;
    const s = securityOf(r);
    assert.equal(s.preset, 'maximum');
    assert.equal(s.uid, 65534);
    assert.deepEqual(s.resourceLimits, { maxOpenFiles: 1024, maxProcesses: 512 });
  });
  it('validates a plain object given by a JS caller', () => {
    assert.throws(() => resolveBoxOptions(withRootfs({ security: { uid: 0 } as never })), invalidNaming('security.uid'));
  });
  it('reads options made before security existed as standard', () => {
    const old = { cpus: 2, memoryMib: 512, diskSizeGb: 10, env: [], rootfs: { rootfsPath: dir }, labels: {} } as unknown as ResolvedBoxOptions;
    assert.deepEqual(securityOf(old).toJSON(), SecurityOptions.standard().toJSON());
  });
  it('refuses a maxFileSize smaller than the box\'s disk', () => {
    const security = SecurityOptionsBuilder.standard().maxFileSizeBytes(512 * MIB).build();
    assert.throws(() => resolveBoxOptions(withRootfs({ security, diskSizeGb: 1 })), invalidNaming(
      `security.resourceLimits.maxFileSize (${512 * MIB} bytes) is smaller than the box's disk (diskSizeGb=1, ${1024 ** 3} bytes)`, /raise the limit or lower diskSizeGb/));
    const fits = SecurityOptionsBuilder.standard().maxFileSizeBytes(1024 ** 3).build();
    assert.equal(resolveBoxOptions(withRootfs({ security: fits, diskSizeGb: 1 })).security?.resourceLimits.maxFileSize, 1024 ** 3);
  });
  it('BoxInfo carries the box\'s security, standard for rows made before it existed', () => {
    const options = resolveBoxOptions(withRootfs({ security: SecurityOptions.development() }));
    const rec = { id: '01HZZZZZZZZZZZZZZZZZZZZZZZ', status: 'configured', image: dir, cpus: 2, memoryMib: 512, labels: {}, createdAt: 0, lastUpdated: 0, detach: false, autoRemove: true } as unknown as BoxRecord;
    assert.equal(toInfo({ ...rec, optionsJson: JSON.stringify(options) }).security.preset, 'development');
    const { security: _, ...old } = options;
    assert.equal(toInfo({ ...rec, optionsJson: JSON.stringify(old) }).security.preset, 'standard');
  });
  it('runtime.create() persists it, and info() and JSON (boxlite inspect, ls --json) show it', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-sec-home-'));
    const runtime = new BoxliteRuntime({ homeDir: home });
    try {
      const box = await runtime.create(withRootfs({ security: SecurityOptions.maximum() }));
      const info = (await runtime.getInfo(box.id.asStr()))!;
      assert.equal(info.security.preset, 'maximum');
      assert.deepEqual(JSON.parse(JSON.stringify(info)).security, SecurityOptions.maximum().toJSON());
    } finally {
      await runtime.close();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('boxlite run --security', () => {
  it('maps the three presets, and absent to undefined (the default)', () => {
    assert.equal(parseSecurityFlag(undefined), undefined);
    for (const p of ['development', 'standard', 'maximum'] as const) assert.equal(parseSecurityFlag(p)!.preset, p);
  });
  it('refuses anything else, naming the flag and the choices', () => {
    for (const v of ['max', 'custom', '', 'Standard']) {
      assert.throws(() => parseSecurityFlag(v), invalidNaming('--security', /one of development, standard, maximum, got/));
    }
  });
});
