// Builds the guest agent (guest/, static C) once per version of its sources, into the shared cache.
import path from 'node:path';
import { ensureProgram, hashSources, type BuiltProgram } from './c-build.js';
import type { StepOptions } from './types.js';

/** The file name `make OUT=<dir>` produces in `<dir>`. */
export const AGENT_BINARY = 'boxlite-agent';

/** A built agent: the hash of the guest sources (16 hex digits) and its path. */
export type AgentInfo = BuiltProgram;

/** A hash of the guest sources; changes whenever the agent would build differently. */
export async function hashGuestSources(guestSrcDir: string): Promise<string> {
  return hashSources(guestSrcDir);
}

/**
 * Returns `<cache>/agent/<hash>/boxlite-agent`, building it first with `make -C <guestSrcDir> OUT=<tmp>`
 * when that version is not built yet. The result must be a static ELF executable (it runs as PID 1).
 */
export async function ensureAgent(cacheDir: string, guestSrcDir: string, opts: StepOptions = {}): Promise<AgentInfo> {
  return ensureProgram({
    srcDir: guestSrcDir, outRoot: path.join(cacheDir, 'agent'), binary: AGENT_BINARY, label: 'guest agent', artifact: 'agent', cacheDir,
    whyStatic: 'it runs as PID 1 with no libc in the initramfs', needs: 'musl-gcc and make',
  }, opts);
}
