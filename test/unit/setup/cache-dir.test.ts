// The shared cache dir: where it is, when it is safe to run binaries from, and the error for missing OS packages.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { checkCacheDirSafe, ensureCacheDir, readOnlyFallback, resolveCacheDir, unsafeDirReason } from '../../../src/setup/cache-dir.js';
import { INSTALL_COMMAND, missingPackagesError } from '../../../src/setup/os-packages.js';
import { describeProgress } from '../../../src/setup/progress.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-cache-dir-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('resolveCacheDir', () => {
  for (const [name, option, env, uid, want] of [
    ['the option wins', '/opt/c', { BOXLITE_CACHE_DIR: '/env/c' }, 0, '/opt/c'],
    ['then the environment variable', undefined, { BOXLITE_CACHE_DIR: '/env/c', XDG_CACHE_HOME: '/x' }, 1000, '/env/c'],
    ['root: /var/cache/boxlite', undefined, { HOME: '/root' }, 0, '/var/cache/boxlite'],
    ['a user: $XDG_CACHE_HOME/boxlite', undefined, { XDG_CACHE_HOME: '/home/me/.xdg', HOME: '/home/me' }, 1000, '/home/me/.xdg/boxlite'],
    ['a user: ~/.cache/boxlite', undefined, { HOME: '/home/me' }, 1000, '/home/me/.cache/boxlite'],
    ['a relative XDG_CACHE_HOME is ignored, as the spec says', undefined, { XDG_CACHE_HOME: 'rel', HOME: '/home/me' }, 1000, '/home/me/.cache/boxlite'],
    ['an empty variable counts as unset', undefined, { BOXLITE_CACHE_DIR: '', HOME: '/home/me' }, 1000, '/home/me/.cache/boxlite'],
  ] as const) {
    it(name, () => assert.equal(resolveCacheDir(option, env, uid), want));
  }
  it('an empty option is InvalidArgument naming cacheDir', () => {
    assert.throws(() => resolveCacheDir(''), { code: 'InvalidArgument', message: /cacheDir must be a non-empty path, got ""/ });
  });
  it('an ordinary user who chose no cache also reads root\'s; root and a chosen cache do not', () => {
    assert.equal(readOnlyFallback(undefined, {}, 1000), '/var/cache/boxlite');
    assert.equal(readOnlyFallback(undefined, {}, 0), undefined);
    assert.equal(readOnlyFallback('/c', {}, 1000), undefined);
    assert.equal(readOnlyFallback(undefined, { BOXLITE_CACHE_DIR: '/c' }, 1000), undefined);
  });
});

describe('unsafeDirReason', () => {
  for (const [name, st, isCache, want] of [
    ['own, 0755', { uid: 1000, mode: 0o40755 }, true, undefined],
    ['root\'s, 0755', { uid: 0, mode: 0o40755 }, true, undefined],
    ['another user\'s', { uid: 1001, mode: 0o40755 }, true, /owned by uid 1001, neither this user \(1000\) nor root/],
    ['group-writable cache', { uid: 1000, mode: 0o40775 }, true, /writable by other users \(mode 775\)/],
    ['sticky world-writable cache', { uid: 1000, mode: 0o41777 }, true, /writable by other users \(mode 1777\)/],
    ['sticky world-writable parent (/tmp)', { uid: 0, mode: 0o41777 }, false, undefined],
    ['world-writable parent without the sticky bit', { uid: 0, mode: 0o40777 }, false, /not sticky \(mode 777\)/],
  ] as const) {
    it(name, () => {
      const got = unsafeDirReason('/d', st, isCache, 1000);
      if (want === undefined) assert.equal(got, undefined);
      else assert.match(got ?? '', want);
    });
  }

  it('checkCacheDirSafe refuses a real directory others may write, naming the fix and the way to choose another', () => {
    const open = path.join(tmp, 'open');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    assert.throws(() => checkCacheDirSafe(open), { code: 'Config', message: /shared cache dir .*open is not safe .*writable by other users \(mode 777\).*chmod go-w.*cacheDir option or BOXLITE_CACHE_DIR/ });
    const fine = path.join(tmp, 'a', 'b', 'cache');
    ensureCacheDir(fine);
    assert.equal(fs.statSync(fine).mode & 0o777, 0o755);
    checkCacheDirSafe(fine);
  });
});

describe('missingPackagesError', () => {
  it('names the tools, their packages and `boxlite setup`, with the apt command', () => {
    const e = missingPackagesError([{ tool: 'qemu-system-x86_64', pkg: 'qemu-system-x86' }, { tool: 'passt', pkg: 'passt' }]);
    assert.equal(e.code, 'Config');
    assert.match(e.message, /^missing OS packages: qemu-system-x86_64 \(package qemu-system-x86\), passt \(package passt\); run `sudo npx boxlite setup` once on this machine/);
    assert.ok(e.message.endsWith(INSTALL_COMMAND));
  });
  it('on a host without apt, says what to install by other means', () => {
    const e = missingPackagesError([{ tool: 'apt-get', pkg: 'apt' }]);
    assert.match(e.message, /`boxlite setup` installs them with apt, which this host lacks, so install the equivalents of: qemu-system-x86 passt/);
  });
});

describe('describeProgress', () => {
  it('one line per event, saying when everything was cached', () => {
    assert.equal(describeProgress({ type: 'guest-ready', cacheDir: '/c', built: [], durationMs: 3 }), 'guest artifacts ready in /c (cached)');
    assert.equal(describeProgress({ type: 'build-done', artifact: 'kernel', path: '/c/k', durationMs: 4900 }), 'built kernel in 4.9 s (/c/k)');
  });
});
