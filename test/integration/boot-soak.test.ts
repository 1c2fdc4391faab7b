// Boot reliability: 50 consecutive start/stop cycles of one box, none may hang (the TSC/RTC facts of DESIGN.md).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { busyboxBox, sh } from '../helpers/boxes.js';

const BOOTS = Number(process.env.BOXLITE_SOAK_BOOTS ?? 50);

describe('boot reliability', () => {
  it(`boots ${BOOTS} times in a row without a hang`, async () => {
    const box = await busyboxBox({ autoRemove: false });
    const bootMs: number[] = [];
    for (let i = 0; i < BOOTS; i++) {
      const t0 = performance.now();
      await box.start(); // a hang would fail here with the boot-timeout error and the console tail
      bootMs.push(performance.now() - t0);
      assert.equal((await sh(box, `echo boot-${i}`)).stdout, `boot-${i}\n`);
      await box.stop();
    }
    bootMs.sort((a, b) => a - b);
    console.log(`boot-soak: ${BOOTS} boots, median ${Math.round(bootMs[Math.floor(BOOTS / 2)]!)} ms, max ${Math.round(bootMs[BOOTS - 1]!)} ms`);
  });
});
