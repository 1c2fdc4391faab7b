// Builds the guest agent (guest/, static C) once per version of its sources, into the home dir.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { boxliteError } from '../errors.js';
import { exists, removeStaleTemps, renameDirIntoPlace, tempPathFor } from './atomic.js';
import { Elf64 } from './elf.js';
import { runTool } from './run-tool.js';
import type { StepOptions } from './types.js';

/** The file name `make OUT=<dir>` produces in `<dir>`. */
export const AGENT_BINARY = 'boxlite-agent';

/** A built agent. */
export interface AgentInfo {
  /** Hash of the guest sources (16 hex digits). */
  hash: string;
  path: string;
}

/**
 * A hash of every file under `guestSrcDir` except `build/`, dot-files and object files: relative path, executable bit
 * and contents, in sorted order. Changes whenever the agent would build differently.
 */
export async function hashGuestSources(guestSrcDir: string): Promise<string> {
  const files: string[] = [];
  for (const rel of await fs.readdir(guestSrcDir, { recursive: true })) {
    const parts = rel.split(path.sep);
    if (parts[0] === 'build' || parts.some((p) => p.startsWith('.')) || /\.(o|d|a)$/.test(rel)) continue; // build products
    files.push(rel);
  }
  files.sort();
  const h = createHash('sha256');
  for (const rel of files) {
    const full = path.join(guestSrcDir, rel);
    const st = await fs.stat(full);
    if (!st.isFile()) continue;
    const data = await fs.readFile(full);
    h.update(`${parts(rel)}\0${st.mode & 0o111 ? 'x' : '-'}\0${data.length}\0`).update(data);
  }
  return h.digest('hex').slice(0, 16);
}

function parts(rel: string): string {
  return rel.split(path.sep).join('/');
}

/**
 * Returns `<home>/guest/agent/<hash>/boxlite-agent`, building it first with `make -C <guestSrcDir> OUT=<tmp>`
 * when that version is not built yet. The result must be a static ELF executable (it runs as PID 1).
 */
export async function ensureAgent(homeDir: string, guestSrcDir: string, opts: StepOptions = {}): Promise<AgentInfo> {
  if (!(await exists(path.join(guestSrcDir, 'Makefile')))) {
    throw boxliteError('Config', `guest agent sources not found: ${guestSrcDir} has no Makefile; pass guestSrcDir pointing at the package's guest/ folder`);
  }
  const hash = await hashGuestSources(guestSrcDir);
  const root = path.join(homeDir, 'guest', 'agent');
  const finalDir = path.join(root, hash);
  const binary = path.join(finalDir, AGENT_BINARY);
  if (await exists(binary)) return { hash, path: binary };
  await fs.mkdir(root, { recursive: true });
  await removeStaleTemps(root);
  const tmp = tempPathFor(finalDir);
  await fs.mkdir(tmp);
  try {
    opts.log?.(`building guest agent ${hash} (make -C ${guestSrcDir})`);
    await runTool('make', ['-C', guestSrcDir, `OUT=${tmp}`], {
      signal: opts.signal, errorCode: 'Internal', hint: `the guest agent in ${guestSrcDir} failed to build (it needs musl-gcc and make: run \`npx boxlite setup\` as root)`,
    });
    const built = path.join(tmp, AGENT_BINARY);
    if (!(await exists(built))) throw boxliteError('Internal', `\`make -C ${guestSrcDir} OUT=${tmp}\` succeeded but made no ${AGENT_BINARY}`);
    const elf = Elf64.parse(await fs.readFile(built), built);
    if (elf.type !== 2 && elf.type !== 3) throw boxliteError('Internal', `${built} is not an executable (ELF type ${elf.type})`);
    if (!elf.isStatic()) throw boxliteError('Internal', `${built} is dynamically linked; the guest agent must be static (it runs as PID 1 with no libc in the initramfs)`);
    for (const name of await fs.readdir(tmp)) { // keep only the binary, not make's intermediate files
      if (name !== AGENT_BINARY) await fs.rm(path.join(tmp, name), { recursive: true, force: true });
    }
    await renameDirIntoPlace(tmp, finalDir);
    return { hash, path: binary };
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
