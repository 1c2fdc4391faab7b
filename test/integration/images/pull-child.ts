// Child process for the concurrency test: prepares an image in a given home and reports the result to its parent.
// Does nothing when run without arguments (the test runner may load every file under test/).
import { ImageStore, prepareImageRootfs } from '../../../src/images/index.js';

const [home, ref] = process.argv.slice(2);
if (home && ref && process.send) {
  try {
    const r = await prepareImageRootfs(new ImageStore({ homeDir: home }), ref, { pull: 'always' });
    process.send({ ok: true, digest: r.digest, baseDiskPath: r.baseDiskPath, timings: r.timings });
  } catch (e) {
    process.send({ ok: false, error: String(e) });
  }
}
