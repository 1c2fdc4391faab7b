// The bench's disk snapshot section: snapshot create, restore and clone of a stopped box beside its own stop+start, and a snapshot's size beside the disk's data.
import fs from 'node:fs';
import path from 'node:path';
import { BoxPaths } from '../src/runtime/box-paths.js';
import { BoxCommand } from '../src/runtime/command.js';
import type { BoxliteRuntime } from '../src/runtime/runtime.js';

/** MiB the box writes before the snapshots (data they must share, not copy). */
const DATA_MB = Number(process.env.BENCH_SNAPSHOT_MB ?? 64);

/** Host disk space the files of a box's directory take (allocated blocks; hard-linked files counted once). */
function allocatedBytes(dir: string): number {
  const seen = new Set<number>();
  let total = 0;
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) { walk(p); continue; }
      const st = fs.lstatSync(p);
      if (!st.isFile() || seen.has(st.ino)) continue;
      seen.add(st.ino);
      total += st.blocks * 512;
    }
  };
  walk(dir);
  return total;
}

/**
 * Rows: snapshot create and restore (and a clone) of a stopped box, each beside a stop+start of the same box (the
 * nearest operation of ours: what going back to a clean state costs without snapshots is at least that); and the
 * host space a snapshot after a small write takes, beside the data the box's disk holds.
 */
export async function diskSnapshotRows(runtime: BoxliteRuntime, shape: { cpus: number; memoryMib: number }, rootfs: string, rounds: number, row: (n: string, a: string, b: string, r: string) => string): Promise<string[]> {
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ms = (x: number): string => `${x.toFixed(1)} ms`;
  const mib = (b: number): string => `${(b / 1024 ** 2).toFixed(1)} MiB`;
  const box = await runtime.create({ rootfs: { rootfsPath: rootfs }, ...shape, autoRemove: false });
  const sh = async (script: string): Promise<void> => {
    const r = await (await box.run(new BoxCommand('sh').args(['-c', script]))).wait();
    if (r.exitCode !== 0) throw new Error(`\`${script}\` exited ${r.exitCode} in the bench box`);
  };
  try {
    await sh(`head -c ${DATA_MB * 1024 * 1024} /dev/urandom > /root/data; sync`);
    await box.stop();
    const cycles: number[] = [];
    const creates: number[] = [];
    const restores: number[] = [];
    const clones: number[] = [];
    let sizeBytes = 0;
    for (let i = 0; i < rounds; i++) {
      let t = performance.now();
      await sh(`echo ${i} > /root/round; sync`);
      await box.stop();
      cycles.push(performance.now() - t); // start + a trivial command + stop
      t = performance.now();
      sizeBytes = (await box.snapshots.create(`r${i}`)).sizeBytes;
      creates.push(performance.now() - t);
      t = performance.now();
      await box.snapshots.restore(`r${i}`);
      restores.push(performance.now() - t);
      t = performance.now();
      const clone = await runtime.clone(box.id.asStr());
      clones.push(performance.now() - t);
      await runtime.remove(clone.id.asStr());
    }
    const held = allocatedBytes(new BoxPaths(runtime.homeDir, box.id.asStr()).dir);
    const cycle = median(cycles);
    return [
      row('disk snapshot create (stopped)', ms(median(creates)), ms(cycle), `${(median(creates) / cycle).toFixed(3)}x`),
      row('disk snapshot restore (stopped)', ms(median(restores)), ms(cycle), `${(median(restores) / cycle).toFixed(3)}x`),
      row('clone of a stopped box', ms(median(clones)), ms(cycle), `${(median(clones) / cycle).toFixed(3)}x`),
      '   (baseline: start+run(true)+stop of the same box, what a fresh state costs without snapshots; medians)',
      row('disk snapshot size, small write', mib(sizeBytes), mib(held), `${(sizeBytes / held).toFixed(4)}x`),
      `   (host blocks the last snapshot's own file holds; baseline: all the box's disk files, ${DATA_MB} MiB of data written first, shared not copied)`,
    ];
  } finally {
    await runtime.remove(box.id.asStr(), true);
  }
}
