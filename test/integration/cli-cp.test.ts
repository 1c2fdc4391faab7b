// `boxlite cp` on a real box: files and trees in and out (docker cp semantics), tar streams on stdin and stdout, errors.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { TEST_HOME, testRuntime } from '../helpers/boxes.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-cli-cp-'));
const FORMS = /`boxlite cp BOX:PATH HOST_PATH\|-` or `boxlite cp HOST_PATH\|- BOX:PATH`/;

interface Ran { code: number | null; stdout: Buffer; stderr: string }

// Runs `boxlite args…` on the test home with `input` on stdin; resolves with its exit code and output.
function boxlite(args: string[], input?: Buffer): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [MAIN, '--home', TEST_HOME, ...args], { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    p.stdout!.on('data', (c: Buffer) => out.push(c));
    p.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
    if (input) p.stdin!.end(input);
  });
}

async function ok(...args: string[]): Promise<Buffer> {
  const r = await boxlite(args);
  assert.equal(r.code, 0, `boxlite ${args.join(' ')}: ${r.stderr}`);
  assert.equal(r.stderr, '', 'cp prints nothing on success');
  return r.stdout;
}

const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** sha256 of every file, symlink targets and directories under dir, by relative path. */
function manifest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const abs = path.join(dir, rel);
    const st = fs.lstatSync(abs);
    if (st.isSymbolicLink()) out[rel] = `link ${fs.readlinkSync(abs)}`;
    else if (st.isFile()) out[rel] = `file ${(st.mode & 0o777).toString(8)} ${sha(abs)}`;
    else {
      if (rel) out[rel] = 'dir';
      for (const name of fs.readdirSync(abs)) walk(path.join(rel, name));
    }
  };
  walk('');
  return out;
}

function tree(root: string): void {
  fs.mkdirSync(path.join(root, 'sub/deeper'), { recursive: true });
  fs.mkdirSync(path.join(root, 'empty'));
  fs.writeFileSync(path.join(root, 'bin.dat'), randomBytes(200_000));
  fs.writeFileSync(path.join(root, 'sub/run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o750 });
  fs.writeFileSync(path.join(root, 'sub/deeper/naïve ✓.txt'), 'unicode\n');
  fs.symlinkSync('sub/run.sh', path.join(root, 'link'));
}

describe('boxlite cp', () => {
  let box = '';

  before(async () => {
    const started = await boxlite(['run', '-d', '--rootfs', busyboxRootfs(), '--', 'sleep', '600']);
    assert.equal(started.code, 0, started.stderr);
    box = started.stdout.toString().trim();
  });

  after(async () => {
    if (box) await testRuntime().remove(box, true).catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('copies a file in and out unchanged (by id prefix)', async () => {
    const src = path.join(work, 'file.bin');
    fs.writeFileSync(src, randomBytes(3 * 1024 * 1024 + 17));
    await ok('cp', src, `${box.slice(0, 12)}:/root/file.bin`);
    const inBox = await ok('exec', box, '--', 'sha256sum', '/root/file.bin');
    assert.equal(inBox.toString().split(' ')[0], sha(src));
    await ok('cp', `${box}:/root/file.bin`, path.join(work, 'back.bin'));
    assert.equal(sha(path.join(work, 'back.bin')), sha(src));
  });

  it('copies a tree in and out, a trailing /. meaning its contents', async () => {
    const src = path.join(work, 'tree');
    tree(src);
    await ok('cp', `${src}/.`, `${box}:/srv/t`);
    const listed = (await ok('exec', box, '--', 'ls', '/srv/t')).toString().split('\n').filter(Boolean).sort();
    assert.deepEqual(listed, ['bin.dat', 'empty', 'link', 'sub']);
    const back = path.join(work, 'tree-back');
    fs.mkdirSync(back);
    await ok('cp', `${box}:/srv/t/.`, back);
    assert.deepEqual(manifest(back), manifest(src));
    await ok('cp', `${box}:/srv/t`, back); // into an existing directory: under its own name
    assert.deepEqual(manifest(path.join(back, 't')), manifest(src));
  });

  it('writes a tar of a box path to stdout with `-`', async () => {
    const sub = path.join(work, 'tar-src');
    tree(sub);
    await ok('cp', sub, `${box}:/srv/`);
    const archive = await ok('cp', `${box}:/srv/tar-src`, '-');
    const names = execFileSync('tar', ['-t'], { input: archive }).toString().split('\n').filter(Boolean).sort();
    assert.deepEqual(names, ['tar-src/', 'tar-src/bin.dat', 'tar-src/empty/', 'tar-src/link', 'tar-src/sub/', 'tar-src/sub/deeper/', 'tar-src/sub/deeper/naïve ✓.txt', 'tar-src/sub/run.sh']);
    const x = path.join(work, 'tar-x');
    fs.mkdirSync(x);
    execFileSync('tar', ['-x', '-C', x], { input: archive });
    assert.deepEqual(manifest(path.join(x, 'tar-src')), manifest(sub));
    const contents = execFileSync('tar', ['-t'], { input: await ok('cp', `${box}:/srv/tar-src/.`, '-') }).toString().split('\n').filter(Boolean);
    assert.ok(contents.includes('./') && contents.includes('./bin.dat'), contents.join(', '));
  });

  it('extracts a tar from stdin with `-` into a box directory; -a keeps the archive\'s owner ids', async () => {
    const src = path.join(work, 'tar-in');
    tree(src);
    const archive = execFileSync('tar', ['-c', '--owner=1234', '--group=4321', '--numeric-owner', '-C', src, '.']);
    await ok('exec', box, '--', 'mkdir', '-p', '/dst/plain', '/dst/kept');
    for (const [dir, flags] of [['/dst/plain', []], ['/dst/kept', ['-a']]] as const) {
      const r = await boxlite(['cp', ...flags, '-', `${box}:${dir}`], archive);
      assert.equal(r.code, 0, r.stderr);
    }
    const owners = async (p: string): Promise<string> => (await ok('exec', box, '--', 'stat', '-c', '%u:%g', p)).toString().trim();
    assert.equal(await owners('/dst/plain/sub/run.sh'), '0:0');
    assert.equal(await owners('/dst/kept/sub/run.sh'), '1234:4321');
    const back = path.join(work, 'tar-in-back');
    fs.mkdirSync(back);
    await ok('cp', `${box}:/dst/kept/.`, back);
    assert.deepEqual(manifest(back), manifest(src));
  });

  it('-L follows a symlink SRC (box or host) and names the copy after the link', async () => {
    await ok('exec', box, '--', 'sh', '-c', 'echo target > /root/real && ln -s real /root/alias');
    const dir = path.join(work, 'follow');
    fs.mkdirSync(dir);
    await ok('cp', '-L', `${box}:/root/alias`, dir);
    assert.equal(fs.lstatSync(path.join(dir, 'alias')).isFile(), true);
    assert.equal(fs.readFileSync(path.join(dir, 'alias'), 'utf8'), 'target\n');
    await ok('cp', `${box}:/root/alias`, path.join(dir, 'as-link'));
    assert.equal(fs.readlinkSync(path.join(dir, 'as-link')), 'real');
    fs.writeFileSync(path.join(dir, 'host-real'), 'host target\n');
    fs.symlinkSync('host-real', path.join(dir, 'host-alias'));
    await ok('cp', '-L', path.join(dir, 'host-alias'), `${box}:/root/`);
    assert.equal((await ok('exec', box, '--', 'sh', '-c', 'test -f /root/host-alias && ! test -L /root/host-alias && cat /root/host-alias')).toString(), 'host target\n');
  });

  it('errors: no such box, no such box path, two host sides, two boxes', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['cp', 'no-such-box:/etc/hosts', work], /NotFound: no box with id or name "no-such-box"/],
      [['cp', `${box}:/no/such/path`, work], /NotFound: .*\/no\/such\/path/],
      [['cp', `${box}:/no/such/path`, '-'], /NotFound: .*\/no\/such\/path/],
      [['cp', path.join(work, 'file.bin'), path.join(work, 'other')], /InvalidArgument: neither .* is BOX:PATH/],
      [['cp', `${box}:/a`, 'other:/b'], /InvalidArgument: copying between boxes .* is not supported/],
    ];
    for (const [args, re] of cases) {
      const r = await boxlite(args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, re);
      if (/InvalidArgument/.test(re.source)) assert.match(r.stderr, FORMS);
      assert.equal(r.stdout.length, 0);
    }
  });
});
