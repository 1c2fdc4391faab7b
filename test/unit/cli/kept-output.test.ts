// The kept output on disk: bounded by rotation, read back oldest first, followed until the keeper says the command ended.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { KeptFiles } from '../../../src/cli/kept-files.js';
import { readKept } from '../../../src/cli/log-reader.js';
import { LogWriter } from '../../../src/cli/log-writer.js';
import { RECORD_HEADER_BYTES } from '../../../src/cli/log-format.js';
import { selfIdentity } from '../../../src/state/process-identity.js';

let home: string;
let files: KeptFiles;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'kept-'));
  files = new KeptFiles(home, 'BOX');
  fs.mkdirSync(files.dir, { recursive: true });
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

async function readAll(follow = false): Promise<string> {
  let text = '';
  await readKept(files, (r) => { text += `${r.stream === 'stdout' ? 'O' : 'E'}:${r.data.toString()}`; }, { follow });
  return text;
}

describe('kept output', () => {
  it('rotates a full file to .1, so at most about twice the cap stays on disk and the newest output survives', async () => {
    const w = new LogWriter(files.current, files.previous, 100);
    for (let i = 0; i < 50; i++) w.write(i % 2 ? 'stderr' : 'stdout', Buffer.from(`line ${String(i).padStart(2, '0')}\n`));
    w.close();
    for (const f of [files.current, files.previous]) assert.ok(fs.statSync(f).size <= 100, `${f} holds at most the cap`);
    const text = await readAll();
    assert.match(text, /E:line 49\n$/);
    assert.doesNotMatch(text, /line 00/);
    const kept = text.match(/line (\d+)/g)!.map((l) => Number(l.slice(5)));
    assert.deepEqual(kept, kept.slice().sort((a, b) => a - b), 'oldest first, no gaps between the two files');
    assert.equal(kept.at(-1)! - kept[0]! + 1, kept.length);
  });

  it('stops writing once the box directory is gone, and re-creates nothing', () => {
    const w = new LogWriter(files.current, files.previous, 2 * (RECORD_HEADER_BYTES + 4));
    w.write('stdout', Buffer.from('abcd'));
    fs.rmSync(path.join(home, 'boxes'), { recursive: true });
    for (let i = 0; i < 5; i++) w.write('stdout', Buffer.from('abcd'));
    w.close();
    assert.equal(fs.existsSync(files.dir), false);
  });

  it('follows until the keeper writes that the command ended, then reads what is left', async () => {
    const state = { keeper: selfIdentity(), argv: ['sh'], startedAt: new Date().toISOString() };
    files.writeState(state);
    const w = new LogWriter(files.current, files.previous, 1 << 20);
    w.write('stdout', Buffer.from('hi\n'));
    const following = readAll(true);
    await sleep(300);
    w.write('stderr', Buffer.from('err\n'));
    w.write('stdout', Buffer.from('bye\n'));
    files.writeState({ ...state, exitCode: 0, endedAt: new Date().toISOString() });
    assert.equal(await following, 'O:hi\nE:err\nO:bye\n');
    assert.equal(files.keeperAlive(), false);
  });

  it('stops following when the keeper is dead without having said so (killed with its box)', async () => {
    files.writeState({ keeper: { pid: selfIdentity().pid, start: 1 }, argv: ['sh'], startedAt: new Date().toISOString() });
    assert.equal(await readAll(true), '');
    assert.equal(files.keeperAlive(), false);
  });
});
