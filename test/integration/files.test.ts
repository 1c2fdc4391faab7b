// Files in and out of real boxes: box.fs, copyIn and copyOut, in an image with and without a shell.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BoxliteError } from '../../src/errors.js';
import type { LiteBox } from '../../src/runtime/box.js';
import type { WatchEvent } from '../../src/files/types.js';
import { busyboxBox, sh, testRuntime } from '../helpers/boxes.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-files-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

/** sha256 and mode of every file under dir, symlink targets, and the directories (empty ones too). */
function manifest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const abs = path.join(dir, rel);
    const st = fs.lstatSync(abs);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) out[rel] = `link ${fs.readlinkSync(abs)}`;
    else if (st.isFile()) out[rel] = `file ${mode} ${createHash('sha256').update(fs.readFileSync(abs)).digest('hex')}`;
    else if (st.isDirectory()) {
      if (rel) out[rel] = `dir ${mode}`;
      for (const name of fs.readdirSync(abs)) walk(path.join(rel, name));
    }
  };
  walk('');
  return out;
}

/** A tree with binary files, an empty directory, a symlink and odd names. */
function oddTree(root: string): void {
  fs.mkdirSync(path.join(root, 'empty dir'), { recursive: true });
  fs.mkdirSync(path.join(root, 'sub/déjà vu'), { recursive: true });
  fs.writeFileSync(path.join(root, 'binary.bin'), randomBytes(300_000));
  fs.writeFileSync(path.join(root, '-leading-dash'), 'dash\n');
  fs.writeFileSync(path.join(root, 'sub/déjà vu/naïve file ✓.txt'), 'unicode\n');
  fs.writeFileSync(path.join(root, 'sub/run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o750 });
  fs.writeFileSync(path.join(root, `sub/${'long-name-'.repeat(20)}.txt`), 'long\n');
  fs.writeFileSync(path.join(root, 'zeros'), Buffer.alloc(0));
  fs.symlinkSync('sub/run.sh', path.join(root, 'link to run'));
  fs.chmodSync(path.join(root, 'binary.bin'), 0o600);
}

describe('files in and out of a box', () => {
  let box: LiteBox;
  before(async () => { box = await busyboxBox({ autoRemove: false }); });

  it('copies a tree with binary files, an empty dir, a symlink and odd names in and out byte-identical, modes kept', async () => {
    const src = path.join(work, 'tree');
    oddTree(src);
    const into = await box.copyIn(src, '/data/tree');
    assert.equal(into.skipped.length, 0);
    // The box sees the same bytes: its own sha256sum of the binary file.
    const sum = (await sh(box, 'sha256sum /data/tree/binary.bin')).stdout.split(' ')[0];
    assert.equal(sum, createHash('sha256').update(fs.readFileSync(path.join(src, 'binary.bin'))).digest('hex'));
    assert.equal((await sh(box, 'stat -c %a /data/tree/sub/run.sh')).stdout.trim(), '750');
    assert.equal((await sh(box, 'readlink "/data/tree/link to run"')).stdout.trim(), 'sub/run.sh');
    const dest = path.join(work, 'tree-back');
    const back = await box.copyOut('/data/tree', dest);
    assert.deepEqual(manifest(dest), manifest(src));
    assert.equal(back.entries, into.entries);
    assert.equal(back.bytes, into.bytes);
  });

  it('copies into an existing directory under the source name, and a directory\'s contents with /.', async () => {
    const file = path.join(work, 'one.txt');
    fs.writeFileSync(file, 'one\n');
    await box.fs.mkdir('/drop', { recursive: true });
    await box.copyIn(file, '/drop');
    assert.equal(await box.fs.readFile('/drop/one.txt', 'utf8'), 'one\n');
    await box.copyIn(file, '/drop/renamed.txt');
    assert.equal(await box.fs.readFile('/drop/renamed.txt', 'utf8'), 'one\n');
    const out = path.join(work, 'drop-contents');
    fs.mkdirSync(out);
    await box.copyOut('/drop/.', out);
    assert.deepEqual(fs.readdirSync(out).sort(), ['one.txt', 'renamed.txt']);
  });

  it('gives files copied in to the box\'s user, or keeps the host ids when asked', async () => {
    const owned = await busyboxBox({ user: 'nobody' });
    const file = path.join(work, 'owned.txt');
    fs.writeFileSync(file, 'x');
    await owned.copyIn(file, '/tmp/owned.txt');
    assert.equal((await owned.fs.stat('/tmp/owned.txt')).uid, 65534);
    await owned.copyIn(file, '/tmp/as-root.txt', { owner: 'root' });
    assert.equal((await owned.fs.stat('/tmp/as-root.txt')).uid, 0);
    fs.chownSync(file, 1234, 5678);
    await owned.copyIn(file, '/tmp/kept.txt', { preserveOwnership: true });
    const kept = await owned.fs.stat('/tmp/kept.txt');
    assert.deepEqual([kept.uid, kept.gid], [1234, 5678]);
    // The user's own commands can change what they were given.
    assert.equal((await sh(owned, 'echo more >> /tmp/owned.txt && cat /tmp/owned.txt')).stdout, 'xmore\n');
  });

  it('reads, writes, lists, stats, renames and removes files like node:fs/promises', async () => {
    await box.fs.writeFile('/work/notes/a.txt', 'alpha', { recursive: true });
    await box.fs.writeFile('/work/notes/b.bin', new Uint8Array([0, 1, 2, 255]), { mode: 0o640 });
    await box.fs.appendFile('/work/notes/a.txt', '+beta');
    assert.equal(await box.fs.readFile('/work/notes/a.txt', 'utf8'), 'alpha+beta');
    assert.deepEqual([...await box.fs.readFile('/work/notes/b.bin')], [0, 1, 2, 255]);
    const st = await box.fs.stat('/work/notes/b.bin');
    assert.equal(st.isFile(), true);
    assert.equal(st.size, 4);
    assert.equal(st.permissions, 0o640);
    assert.deepEqual((await box.fs.readdir('/work/notes')).sort(), ['a.txt', 'b.bin']);
    const deep = await box.fs.readdir('/work', { recursive: true, withFileTypes: true });
    assert.deepEqual(deep.map((d) => `${d.parentPath}|${d.name}|${d.type}`).sort(),
      ['/work/notes|a.txt|file', '/work/notes|b.bin|file', '/work|notes|directory']);
    await box.fs.rename('/work/notes/a.txt', '/work/notes/c.txt');
    assert.equal(await box.fs.exists('/work/notes/a.txt'), false);
    assert.equal(await box.fs.exists('/work/notes/c.txt'), true);
    await assert.rejects(box.fs.writeFile('/work/notes/c.txt', 'again', { flag: 'wx' }), (e: BoxliteError) => e.code === 'AlreadyExists');
    await assert.rejects(box.fs.rm('/work'), (e: BoxliteError) => e.code === 'InvalidArgument' && /directory/.test(e.message));
    await box.fs.rm('/work', { recursive: true });
    assert.equal(await box.fs.exists('/work'), false);
    await box.fs.rm('/work', { recursive: true, force: true });
    const missing = await box.fs.readFile('/no/such/file').catch((e: unknown) => e);
    assert.ok(BoxliteError.is(missing));
    assert.equal(missing.code, 'NotFound');
    assert.equal((missing.cause as { code?: string }).code, 'ENOENT');
    assert.match(missing.message, /\/no\/such\/file/);
    await assert.rejects(box.fs.readFile('/etc'), (e: BoxliteError) => e.code === 'InvalidArgument' && /not a regular file/.test(e.message));
  });

  it('streams a file in both directions', async () => {
    async function* parts(): AsyncGenerator<Uint8Array> { for (let i = 0; i < 50; i++) yield Buffer.alloc(100_000, i); }
    await box.fs.writeFile('/tmp/streamed', parts());
    const hash = createHash('sha256');
    let n = 0;
    for await (const chunk of box.fs.createReadStream('/tmp/streamed')) { hash.update(chunk as Buffer); n += (chunk as Buffer).length; }
    const want = createHash('sha256');
    for (let i = 0; i < 50; i++) want.update(Buffer.alloc(100_000, i));
    assert.equal(n, 5_000_000);
    assert.equal(hash.digest('hex'), want.digest('hex'));
  });

  it('watches: reports a file a command writes, and ends when closed', async () => {
    await box.fs.mkdir('/watched/deep', { recursive: true });
    const watcher = await box.fs.watch('/watched', { recursive: true });
    const seen: WatchEvent[] = [];
    const reading = (async () => {
      for await (const ev of watcher) {
        seen.push(ev);
        if (ev.type === 'write' && ev.name === 'deep/out.txt') break;
      }
    })();
    await sh(box, 'echo hello > /watched/deep/out.txt');
    await reading;
    assert.ok(seen.some((e) => e.type === 'create' && e.path === '/watched/deep/out.txt'), JSON.stringify(seen));
    await watcher.close();
    // The watch's process is gone: no fs.watch left in the box.
    const ps = (await sh(box, 'ps -o args')).stdout;
    assert.doesNotMatch(ps, /fs\.watch/);
  });

  it('refuses a guest tree\'s symlink-to-/etc, device node and setuid file on the way out', async () => {
    await sh(box, 'mkdir -p /evil && ln -s /etc /evil/etc-link && mknod /evil/null-dev c 1 3 && echo s > /evil/suid && chmod 4755 /evil/suid && mkfifo /evil/fifo');
    const dest = path.join(work, 'evil-out');
    const result = await box.copyOut('/evil', dest);
    assert.equal(fs.readlinkSync(path.join(dest, 'etc-link')), '/etc');
    assert.equal(fs.existsSync(path.join(dest, 'null-dev')), false);
    assert.equal(fs.existsSync(path.join(dest, 'fifo')), false);
    assert.deepEqual(result.skipped.map((s) => s.path).sort(), ['evil-out/fifo', 'evil-out/null-dev']);
    assert.equal(fs.statSync(path.join(dest, 'suid')).mode & 0o7000, 0);
  });

  it('stops at maxBytes and maxFiles with nothing left behind', async () => {
    await sh(box, 'mkdir -p /big && head -c 3000000 /dev/urandom > /big/file && for i in 1 2 3 4 5; do echo $i > /big/f$i; done');
    const dest = path.join(work, 'limited');
    fs.mkdirSync(dest);
    await assert.rejects(box.copyOut('/big', dest, { maxBytes: 1_000_000 }), (e: BoxliteError) => e.code === 'InvalidArgument' && /maxBytes/.test(e.message));
    assert.deepEqual(fs.readdirSync(dest), []);
    await assert.rejects(box.copyOut('/big', dest, { maxFiles: 3 }), (e: BoxliteError) => /maxFiles/.test(e.message));
    assert.deepEqual(fs.readdirSync(dest), []);
    await box.copyOut('/big', dest);
    assert.equal(fs.statSync(path.join(dest, 'big/file')).size, 3_000_000);
  });

  it('works on a stopped box that keeps its disk (starting it), and names what is missing', async () => {
    await box.fs.writeFile('/kept.txt', 'kept');
    await box.stop();
    const out = path.join(work, 'kept.txt');
    await box.copyOut('/kept.txt', out);
    assert.equal(fs.readFileSync(out, 'utf8'), 'kept');
    await assert.rejects(box.copyOut('/nope', path.join(work, 'nope')), (e: BoxliteError) => e.code === 'NotFound' && /\/nope/.test(e.message));
    await assert.rejects(box.copyIn(path.join(work, 'no-such-host-file'), '/x'), (e: BoxliteError) => e.code === 'NotFound');
    await assert.rejects(box.copyOut('/kept.txt', path.join(work, 'no/such/dir/x')), (e: BoxliteError) => e.code === 'NotFound' && /does not exist/.test(e.message));
  });

  it('moves 1 GiB each way with host memory bounded by the window, not the file', async () => {
    const big = path.join(work, 'gig');
    const block = randomBytes(1 << 20);
    const fd = fs.openSync(big, 'w');
    for (let i = 0; i < 1024; i++) fs.writeSync(fd, block);
    fs.closeSync(fd);
    global.gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
    try {
      let t = Date.now();
      await box.copyIn(big, '/gig');
      const inMs = Date.now() - t;
      t = Date.now();
      const back = path.join(work, 'gig-back');
      await box.copyOut('/gig', back);
      const outMs = Date.now() - t;
      const growthMib = (peak - base) / 2 ** 20;
      console.log(`# 1 GiB in ${(1024 / (inMs / 1000)).toFixed(0)} MiB/s, out ${(1024 / (outMs / 1000)).toFixed(0)} MiB/s; host RSS growth ${growthMib.toFixed(0)} MiB`);
      assert.ok(growthMib < 256, `host RSS grew by ${growthMib.toFixed(0)} MiB while moving 1 GiB`);
      const digest = (p: string): string => createHash('sha256').update(fs.readFileSync(p)).digest('hex');
      assert.equal(digest(back), digest(big));
    } finally {
      clearInterval(sampler);
      await box.fs.rm('/gig', { force: true });
    }
  });
});

describe('files in an image without a shell or tar', () => {
  it('gets files in and out of a rootfs holding one static binary', async () => {
    const root = path.join(work, 'static-root');
    fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
    const c = path.join(work, 'hello.c');
    fs.writeFileSync(c, '#include <stdio.h>\nint main(void){FILE*f=fopen("/data/in.txt","r");char b[64]={0};if(f)fread(b,1,63,f);printf("read:%s",b);'
      + 'FILE*o=fopen("/data/out.txt","w");fputs("written by hello\\n",o);fclose(o);return 0;}\n');
    execFileSync('gcc', ['-static', '-O1', '-o', path.join(root, 'bin/hello'), c]);
    const runtime = testRuntime();
    const box = await runtime.create({ rootfs: { rootfsPath: root }, cpus: 1, memoryMib: 256 });
    try {
      const input = path.join(work, 'in.txt');
      fs.writeFileSync(input, 'from the host\n');
      await box.copyIn(input, '/data/in.txt');
      const run = await box.run('/bin/hello');
      const stdout = await run.stdout()!.text();
      assert.equal((await run.wait()).exitCode, 0);
      assert.equal(stdout, 'read:from the host\n');
      assert.deepEqual((await box.fs.readdir('/data')).sort(), ['in.txt', 'out.txt']);
      const out = path.join(work, 'static-out');
      await box.copyOut('/data', out);
      assert.equal(fs.readFileSync(path.join(out, 'out.txt'), 'utf8'), 'written by hello\n');
      await assert.rejects(async () => (await box.run('sh')).wait(), (e: BoxliteError) => e.code === 'Run');
    } finally {
      await box.stop();
      if (await runtime.exists(box.id.asStr())) await runtime.remove(box.id.asStr(), true);
    }
  });
});
