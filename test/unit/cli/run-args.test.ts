// `boxlite run`'s arguments: the image as the first one unless --image or --rootfs names it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { boxOptionsFromFlags, type BoxFlags } from '../../../src/cli/box-flags.js';
import { splitRunArgs } from '../../../src/cli/run-args.js';

const flags = (more: Partial<BoxFlags> = {}): BoxFlags => ({ env: [], envFile: [], label: [], publish: [], volume: [], allow: [], deny: [], ...more });

describe('splitRunArgs', () => {
  const cases: Array<[string[], { image?: string; rootfs?: string }, { image?: string; argv: string[] }]> = [
    [['python:3.11', 'python3', '-V'], {}, { image: 'python:3.11', argv: ['python3', '-V'] }],
    [['cat'], { rootfs: '/r' }, { argv: ['cat'] }],
    [['sh', '-c', 'x'], { image: 'alpine' }, { argv: ['sh', '-c', 'x'] }],
  ];
  for (const [args, named, want] of cases) {
    it(`${JSON.stringify(args)} with ${JSON.stringify(named)}`, () => assert.deepEqual(splitRunArgs(args, named), want));
  }

  it('rejects an image without a command', () => {
    assert.throws(() => splitRunArgs(['alpine'], {}), (e: unknown) => BoxliteError.is(e) && e.code === 'InvalidArgument' && /no command given after the image "alpine"/.test(e.message));
  });
});

describe('boxOptionsFromFlags', () => {
  it('issue 12: maps sizes, user, workdir and the environment (env files first, -e wins)', () => {
    const o = boxOptionsFromFlags(flags({ rootfs: '/r', memory: '512m', disk: '2g', user: 'nobody', workdir: '/tmp', env: ['A=flag'] }), undefined);
    assert.deepEqual([o.rootfs, o.memoryMib, o.diskSizeGb, o.user, o.workingDir, o.env], [{ rootfsPath: '/r' }, 512, 2, 'nobody', '/tmp', [['A', 'flag']]]);
    assert.deepEqual(boxOptionsFromFlags(flags(), 'python:3.11').rootfs, { image: 'python:3.11' });
  });

  it('wants exactly one image or root filesystem', () => {
    for (const [f, image] of [[flags(), undefined], [flags({ rootfs: '/r', image: 'a' }), undefined], [flags({ image: 'a' }), 'b']] as const) {
      assert.throws(() => boxOptionsFromFlags(f, image), (e: unknown) => BoxliteError.is(e) && e.code === 'InvalidArgument' && /exactly one image or root filesystem/.test(e.message));
    }
  });
});
