// Finds out which QEMU is installed, from `qemu-system-x86_64 --version`.
import { boxliteError } from '../errors.js';
import { runTool } from './run-tool.js';

/** An installed QEMU's version. */
export interface QemuVersion {
  major: number;
  minor: number;
  micro: number;
  /** The first line of `--version`, e.g. `QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)`. */
  text: string;
  /** `major.minor.micro`, so the version can be printed as is. */
  toString(): string;
}

/** Parses the output of `qemu-system-* --version`; undefined when it names no version. */
export function parseQemuVersion(output: string): QemuVersion | undefined {
  const line = output.split('\n')[0]?.trim() ?? '';
  const m = /version (\d+)\.(\d+)(?:\.(\d+))?/.exec(line);
  if (!m) return undefined;
  const [major, minor, micro] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  return { major, minor, micro, text: line, toString: () => `${major}.${minor}.${micro}` };
}

/** The version of `binary` (default `qemu-system-x86_64`); a Config error when QEMU is not installed. */
export async function qemuVersion(binary = 'qemu-system-x86_64'): Promise<QemuVersion> {
  let out: string;
  try {
    out = (await runTool(binary, ['--version'])).stdout.toString('utf8');
  } catch (e) {
    throw boxliteError('Config', `QEMU not found (could not run \`${binary} --version\`): run \`npx boxlite setup\``, e);
  }
  const v = parseQemuVersion(out);
  if (!v) throw boxliteError('Config', `could not read a version from \`${binary} --version\`: ${JSON.stringify(out.slice(0, 200))}`);
  return v;
}
