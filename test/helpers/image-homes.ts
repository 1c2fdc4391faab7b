// Temporary BoxLite homes for image tests, removed when the test file ends.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';

const homes: string[] = [];
after(() => { for (const h of homes) fs.rmSync(h, { recursive: true, force: true }); });

/** A new empty home directory, deleted after the test file. */
export function tempHome(): string {
  const h = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-images-home-'));
  homes.push(h);
  return h;
}

/** Every file under `dir` (relative paths), for asserting what a store holds. */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}
