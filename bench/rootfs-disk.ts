// The bench's rootfs-directory section: a second box from the same directory reuses its base disk; the first builds it.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BoxCommand } from '../src/runtime/command.js';
import type { BoxliteRuntime } from '../src/runtime/runtime.js';
import { RACY_WINDOW_MS, treeIdentity } from '../src/runtime/tree-identity.js';
import { busyboxRootfs, FIXTURE_CACHE } from '../test/fixtures/rootfs.js';

const TREE_MB = Number(process.env.BENCH_ROOTFS_MB ?? 187);

/** A busybox root with TREE_MB MiB more in /opt (3/4 in 4 MiB files, the rest in 16 KiB ones), made once. */
function bigTree(): string {
  const dir = path.join(FIXTURE_CACHE, `bench-rootfs-${TREE_MB}mb`);
  if (fs.existsSync(path.join(dir, '.bench-complete'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.cpSync(busyboxRootfs(), tmp, { recursive: true, verbatimSymlinks: true });
  fs.mkdirSync(path.join(tmp, 'opt'), { recursive: true });
  const big = Math.floor((TREE_MB * 3) / 4 / 4);
  for (let i = 0; i < big; i++) fs.writeFileSync(path.join(tmp, 'opt', `big-${i}`), Buffer.alloc(4 << 20, i));
  const small = Math.floor(((TREE_MB - big * 4) * 1024) / 16);
  for (let i = 0; i < small; i++) {
    const d = path.join(tmp, 'opt', 'small', String(i % 64));
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, `f-${i}`), Buffer.alloc(16 << 10, i));
  }
  fs.writeFileSync(path.join(tmp, '.bench-complete'), '');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return dir;
}

/** Rows: create+run+wait of the first box of a tree (builds its disk, what every box paid before) beside a second one (reuses it). */
export async function rootfsDiskRows(runtime: BoxliteRuntime, shape: { cpus: number; memoryMib: number }, rounds: number, row: (n: string, a: string, b: string, r: string) => string): Promise<string[]> {
  const dir = bigTree();
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ms = (x: number): string => `${x.toFixed(1)} ms`;
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    const box = await runtime.create({ rootfs: { rootfsPath: dir }, ...shape });
    await (await box.run(new BoxCommand('true'))).wait();
    const took = performance.now() - t0;
    await box.stop();
    return took;
  };
  const firsts: number[] = [];
  const seconds: number[] = [];
  const walks: number[] = [];
  for (let i = 0; i < rounds; i++) {
    fs.writeFileSync(path.join(dir, 'etc', 'bench-round'), `${Date.now()}\n`); // a new content identity: the next box builds
    await sleep(RACY_WINDOW_MS + 100); // a tree changed within the racy window is never cached
    const t = performance.now();
    const id = await treeIdentity(dir);
    walks.push(performance.now() - t);
    if (id.racy) throw new Error(`the bench tree ${dir} changed during the round`);
    firsts.push(await once());
    seconds.push(await once());
  }
  const { entries, bytes } = await treeIdentity(dir);
  return [
    row('rootfs dir: 2nd box, disk reused', ms(median(seconds)), ms(median(firsts)), `${(median(seconds) / median(firsts)).toFixed(2)}x`),
    `   (create+run(true)+wait from a ${(bytes / 1024 / 1024).toFixed(0)} MiB directory, ${entries} entries; baseline: the first box of the tree, which builds its`,
    '    base disk as every box did before the disk cache; medians, snapshot starts)',
    `   content identity walk (every box's first start) ${ms(median(walks)).padStart(12)}`,
  ];
}
