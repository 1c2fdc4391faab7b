// `boxlite run`'s arguments: an optional image first (Docker's `run IMAGE CMD…`), then the command.
import { boxliteError } from '../errors.js';

/**
 * Splits `run`'s arguments. With `--image` or `--rootfs` they are all the command; otherwise the first is the
 * image, as in `docker run python:3.11 -- python3 -V`. InvalidArgument when no command is left.
 */
export function splitRunArgs(args: readonly string[], flags: { image?: string; rootfs?: string }): { image?: string; argv: string[] } {
  const named = flags.image !== undefined || flags.rootfs !== undefined;
  const image = named ? undefined : args[0];
  const argv = named ? [...args] : args.slice(1);
  if (argv.length === 0) {
    throw boxliteError('InvalidArgument', `no command given${image !== undefined ? ` after the image ${JSON.stringify(image)}` : ''}: \`boxlite run IMAGE -- CMD [ARG…]\` or \`boxlite run --rootfs DIR -- CMD [ARG…]\``);
  }
  return { ...(image !== undefined ? { image } : {}), argv };
}
