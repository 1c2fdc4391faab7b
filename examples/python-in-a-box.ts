// The main job of the README: build the project's Python image, serve it from a registry on loopback,
// and run Python in a box booted from it. `node dist/examples/python-in-a-box.js`
import { BoxCommand, BoxliteRuntime } from '../src/index.js';
import { pushPythonImage } from '../test/fixtures/python-image.js';
import { startRegistry } from '../test/helpers/registry.js';

const registry = await startRegistry('none');
try {
  process.stderr.write('building the Python image (Debian minbase + python3; cached after the first run) and pushing it...\n');
  const image = await pushPythonImage(registry);
  await using runtime = BoxliteRuntime.withDefaults();
  const t0 = performance.now();
  const box = await runtime.create({ rootfs: { image }, memoryMib: 512 });
  const run = await box.run(new BoxCommand('python3').args(['-c', [
    'import platform, sys',
    'print(f"Hello from Python {platform.python_version()} on {platform.system()} {platform.release()}, inside a BoxLite micro-VM")',
    'print(f"2 ** 100 = {2 ** 100}")',
  ].join('\n')]));
  for await (const line of run.stdout()) console.log(line);
  const result = await run.wait();
  const m = await box.metrics();
  console.log(`exit code ${result.exitCode}; image ${image}; create+run ${Math.round(performance.now() - t0)} ms `
    + `(image prepare ${Math.round(m.stageImagePrepareMs ?? 0)} ms, guest boot ${Math.round(m.guestBootDurationMs ?? 0)} ms); accelerator ${box.info().accelerator}`);
  await box.stop();
} finally {
  await registry.close();
}
