// Start reliability: 50 consecutive cold boots of one box (the TSC/RTC facts of DESIGN.md), and 50 consecutive
// starts restored from its shape's snapshot; none may hang.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { BoxliteRuntime } from '../../src/runtime/runtime.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { sh, TEST_HOME } from '../helpers/boxes.js';

const BOOTS = Number(process.env.BOXLITE_SOAK_BOOTS ?? 50);
const runtimes: BoxliteRuntime[] = [];
after(async () => { for (const r of runtimes) await r.close(); });

async function soak(snapshots: boolean): Promise<{ medianMs: number; maxMs: number; restored: number }> {
  const runtime = new BoxliteRuntime({ homeDir: TEST_HOME, snapshots });
  runtimes.push(runtime);
  const box = await runtime.create({ rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256, autoRemove: false });
  const startMs: number[] = [];
  let restored = 0;
  try {
    for (let i = 0; i < BOOTS; i++) {
      const t0 = performance.now();
      await box.start(); // a hang would fail here with the boot-timeout error and the console tail
      startMs.push(performance.now() - t0);
      if (box.stageTimings?.startMode?.restored) restored++;
      assert.equal((await sh(box, `echo start-${i}`)).stdout, `start-${i}\n`);
      await box.stop();
    }
  } finally {
    await runtime.remove(box.id.asStr(), true);
  }
  startMs.sort((a, b) => a - b);
  return { medianMs: Math.round(startMs[Math.floor(BOOTS / 2)]!), maxMs: Math.round(startMs[BOOTS - 1]!), restored };
}

describe('start reliability', () => {
  it(`boots cold ${BOOTS} times in a row without a hang`, async () => {
    const r = await soak(false);
    assert.equal(r.restored, 0);
    console.log(`boot-soak (cold): ${BOOTS} boots, median ${r.medianMs} ms, max ${r.maxMs} ms`);
  });

  it(`starts from the snapshot ${BOOTS} times in a row without a hang`, async () => {
    const r = await soak(true);
    assert.equal(r.restored, BOOTS, 'every start restored the snapshot');
    console.log(`boot-soak (snapshot): ${BOOTS} starts, median ${r.medianMs} ms, max ${r.maxMs} ms`);
  });
});
