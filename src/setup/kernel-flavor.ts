// Which guest kernel boxes boot: the purpose-built one (`custom`) or Debian's cloud kernel (`cloud`), and how it is chosen.
import fs from 'node:fs';
import path from 'node:path';
import { boxliteError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';

/** The guest kernel flavors: `custom` is built from guest/kernel/boxlite.config, `cloud` is Debian's linux-image-cloud-amd64. */
export type KernelFlavor = 'custom' | 'cloud';

/** The environment variable that picks the flavor (`custom` or `cloud`) when no option does. */
export const KERNEL_ENV = 'BOXLITE_KERNEL';

/**
 * The flavor a runtime uses when neither an option, BOXLITE_KERNEL nor the cache's recorded choice picks one: the
 * cloud kernel, a download, so that a first box start never waits minutes for a compiler.
 */
export const DEFAULT_KERNEL_FLAVOR: KernelFlavor = 'cloud';

/**
 * The flavor `boxlite setup` builds (and records as the cache's choice) when neither `--kernel` nor BOXLITE_KERNEL
 * picks one: the purpose-built kernel, which boots in about half the cloud kernel's time (`npm run bench -- kernel`);
 * where it cannot be built, the cloud kernel stands in and setup says why.
 */
export const SETUP_KERNEL_FLAVOR: KernelFlavor = 'custom';

/** The kernel a box booted: its release and flavor. */
export interface GuestKernel {
  /** The release (`uname -r` in the guest), e.g. `6.1.192-boxlite` or `6.1.0-56-cloud-amd64`. */
  version: string;
  flavor: KernelFlavor;
}

/** Checks a flavor given by a caller or the environment; `label` names where it came from. */
export function parseKernelFlavor(value: string, label: string): KernelFlavor {
  if (value === 'custom' || value === 'cloud') return value;
  throw boxliteError('InvalidArgument', `${label} must be "custom" or "cloud", got ${JSON.stringify(value)}`);
}

/** The file in a cache recording the flavor `boxlite setup --kernel` chose for it. */
export const KERNEL_CHOICE_FILE = 'kernel-flavor';

/** The flavor to use: the option, else BOXLITE_KERNEL, else the first of `cacheDirs` with a recorded choice, else `otherwise`. */
export function wantedKernelFlavor(option: KernelFlavor | undefined, cacheDirs: readonly string[], env: NodeJS.ProcessEnv = process.env, otherwise = DEFAULT_KERNEL_FLAVOR): KernelFlavor {
  if (option !== undefined) return parseKernelFlavor(option, 'kernel');
  const fromEnv = env[KERNEL_ENV];
  if (fromEnv) return parseKernelFlavor(fromEnv, KERNEL_ENV);
  for (const dir of cacheDirs) {
    const chosen = readKernelChoice(dir);
    if (chosen) return chosen;
  }
  return otherwise;
}

/** The flavor recorded in `cacheDir`, or undefined. */
export function readKernelChoice(cacheDir: string): KernelFlavor | undefined {
  try {
    const text = fs.readFileSync(path.join(cacheDir, KERNEL_CHOICE_FILE), 'utf8').trim();
    return text === 'custom' || text === 'cloud' ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Records `flavor` as the cache's choice (temp file + rename). */
export async function saveKernelChoice(cacheDir: string, flavor: KernelFlavor): Promise<void> {
  await writeFileAtomic(path.join(cacheDir, KERNEL_CHOICE_FILE), `${flavor}\n`);
}
