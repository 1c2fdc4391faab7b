// Builds a static C program from a source folder with make, once per version of its sources, into the shared cache.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { boxliteError } from '../errors.js';
import { exists, removeStaleTemps, renameDirIntoPlace, tempPathFor } from './atomic.js';
import { Elf64 } from './elf.js';
import { runTool } from './run-tool.js';
import type { ArtifactName } from './progress.js';
import { reportBuild, type StepOptions } from './types.js';

/** A built program. */
export interface BuiltProgram {
  /** Hash of its sources (16 hex digits). */
  hash: string;
  path: string;
}

/** One program to build: `make -C srcDir OUT=<dir>` makes `<dir>/<binary>`, kept in `<outRoot>/<hash>/`. */
export interface ProgramSpec {
  srcDir: string;
  outRoot: string;
  binary: string;
  /** Other files make leaves in `<dir>` that are kept beside the binary (not checked for being static). */
  extras?: readonly string[];
  /** Names the program in messages ("guest agent"). */
  label: string;
  /** Names it in progress events, and the cache it is built in. */
  artifact: ArtifactName;
  cacheDir: string;
  /** Why it must be static, for the error when it is not. */
  whyStatic: string;
  /** What the build needs, for the error when it fails. */
  needs: string;
}

/**
 * A hash of every file under `srcDir` except `build/`, dot-files and object files: relative path, executable bit
 * and contents, in sorted order. Changes whenever the program would build differently.
 */
export async function hashSources(srcDir: string): Promise<string> {
  const files: string[] = [];
  for (const rel of await fs.readdir(srcDir, { recursive: true })) {
    const parts = rel.split(path.sep);
    if (parts[0] === 'build' || parts.some((p) => p.startsWith('.')) || /\.(o|d|a)$/.test(rel)) continue; // build products
    files.push(rel);
  }
  files.sort();
  const h = createHash('sha256');
  for (const rel of files) {
    const full = path.join(srcDir, rel);
    const st = await fs.stat(full);
    if (!st.isFile()) continue;
    const data = await fs.readFile(full);
    h.update(`${rel.split(path.sep).join('/')}\0${st.mode & 0o111 ? 'x' : '-'}\0${data.length}\0`).update(data);
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * Returns `<outRoot>/<hash>/<binary>`, building it first with `make -C <srcDir> OUT=<tmp>` when that version is not
 * built yet. The result must be a static ELF executable.
 */
export async function ensureProgram(spec: ProgramSpec, opts: StepOptions = {}): Promise<BuiltProgram> {
  const { srcDir, binary, label } = spec;
  if (!(await exists(path.join(srcDir, 'Makefile')))) {
    throw boxliteError('Config', `${label} sources not found: ${srcDir} has no Makefile; pass a source folder that has one (the package's own is next to dist/)`);
  }
  const hash = await hashSources(srcDir);
  const finalDir = path.join(spec.outRoot, hash);
  const binaryPath = path.join(finalDir, binary);
  if (await exists(binaryPath)) return { hash, path: binaryPath };
  await fs.mkdir(spec.outRoot, { recursive: true });
  await removeStaleTemps(spec.outRoot);
  return reportBuild(opts, spec.artifact, spec.cacheDir, `${label} ${hash} (make -C ${srcDir})`, () => buildProgram(spec, hash, finalDir, opts));
}

async function buildProgram(spec: ProgramSpec, hash: string, finalDir: string, opts: StepOptions): Promise<BuiltProgram> {
  const { srcDir, binary, label } = spec;
  const binaryPath = path.join(finalDir, binary);
  const tmp = tempPathFor(finalDir);
  await fs.mkdir(tmp);
  try {
    await runTool('make', ['-C', srcDir, `OUT=${tmp}`], {
      signal: opts.signal, errorCode: 'Internal', hint: `the ${label} in ${srcDir} failed to build (it needs ${spec.needs}: run \`npx boxlite setup\` as root)`,
    });
    const built = path.join(tmp, binary);
    if (!(await exists(built))) throw boxliteError('Internal', `\`make -C ${srcDir} OUT=${tmp}\` succeeded but made no ${binary}`);
    const elf = Elf64.parse(await fs.readFile(built), built);
    if (elf.type !== 2 && elf.type !== 3) throw boxliteError('Internal', `${built} is not an executable (ELF type ${elf.type})`);
    if (!elf.isStatic()) throw boxliteError('Internal', `${built} is dynamically linked; the ${label} must be static (${spec.whyStatic})`);
    for (const extra of spec.extras ?? []) {
      if (!(await exists(path.join(tmp, extra)))) throw boxliteError('Internal', `\`make -C ${srcDir} OUT=${tmp}\` succeeded but made no ${extra}`);
    }
    for (const name of await fs.readdir(tmp)) { // keep only what was asked for, not make's intermediate files
      if (name !== binary && !spec.extras?.includes(name)) await fs.rm(path.join(tmp, name), { recursive: true, force: true });
    }
    await renameDirIntoPlace(tmp, finalDir);
    return { hash, path: binaryPath };
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
