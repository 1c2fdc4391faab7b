// `node dist/bench/kernel.js`: the custom guest kernel beside Debian's cloud kernel in the same run: bare boot to the
// first userspace line (also with ACPI off for the custom one) and a cold box start to the agent's first exec.
// BENCH_ROUNDS sets the rounds (default 5). Builds the custom kernel first when the cache lacks it (minutes).
import os from 'node:os';
import path from 'node:path';
import { BoxCommand } from '../src/runtime/command.js';
import { GuestCache } from '../src/runtime/guest-cache.js';
import { BoxliteRuntime } from '../src/runtime/runtime.js';
import type { KernelFlavor } from '../src/setup/kernel-flavor.js';
import { chooseAccelerator } from '../src/vmm/accel.js';
import { busyboxRootfs } from '../test/fixtures/rootfs.js';
import { bareBootMs, floorInitrd } from './floor.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const homeDir = process.env.BOXLITE_HOME ?? path.join(os.homedir(), '.boxlite');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number): string => `${x.toFixed(0)} ms`;
const row = (name: string, a: string, b: string, ratio: string): string => `${name.padEnd(38)} ${a.padStart(12)} ${b.padStart(12)} ${ratio.padStart(8)}`;

async function main(): Promise<void> {
  const accel = chooseAccelerator('auto');
  const guests = {
    custom: await new GuestCache({ kernel: 'custom' }).artifacts(),
    cloud: await new GuestCache({ kernel: 'cloud' }).artifacts(),
  };
  if (guests.custom.kernelFlavor !== 'custom') throw new Error(`the custom kernel is not available: ${guests.custom.kernelFallbackReason ?? 'unknown'}`);
  console.log(`accelerator: ${accel.accelerator}; custom ${guests.custom.kernelVersion} vs cloud ${guests.cloud.kernelVersion}; ${ROUNDS} rounds; ${os.cpus().length} host cores\n`);
  const initrd = floorInitrd();
  const bare: Record<string, number[]> = { custom: [], cloud: [], customAcpiOff: [] };
  const cold: Record<KernelFlavor, number[]> = { custom: [], cloud: [] };
  await using customRt = new BoxliteRuntime({ homeDir, snapshots: false, kernel: 'custom' });
  await using cloudRt = new BoxliteRuntime({ homeDir, snapshots: false, kernel: 'cloud' });
  const runtimes = { custom: customRt, cloud: cloudRt };
  for (let i = 0; i < ROUNDS; i++) {
    for (const flavor of ['custom', 'cloud'] as const) { // interleaved, so both see the same host load
      bare[flavor]!.push(await bareBootMs(guests[flavor].kernelPath, initrd, accel.accelerator, 256, 1));
      const t0 = performance.now();
      const box = await runtimes[flavor].create({ rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256 });
      await (await box.run(new BoxCommand('true'))).wait();
      cold[flavor].push(performance.now() - t0);
      await runtimes[flavor].remove(box.id.asStr(), true);
    }
    bare.customAcpiOff!.push(await bareBootMs(guests.custom.kernelPath, initrd, accel.accelerator, 256, 1, { acpiOff: true }));
  }
  console.log(row('measure (median)', 'custom', 'cloud', 'ratio'));
  const pair = (name: string, a: number[], b: number[]): void => console.log(row(name, ms(median(a)), ms(median(b)), `${(median(b) / median(a)).toFixed(2)}x`));
  pair('bare boot to first userspace line', bare.custom!, bare.cloud!);
  pair('bare boot, custom with acpi=off', bare.customAcpiOff!, bare.cloud!);
  pair('cold box start to first exec', cold.custom, cold.cloud);
}

await main();
