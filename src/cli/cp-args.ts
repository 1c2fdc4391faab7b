// The operands of `boxlite cp SRC DEST`: which side is `BOX:PATH`, which a host path or `-` (a tar stream).
import { boxliteError } from '../errors.js';

/** One operand of `cp`: a path in a box, a host path, or `-` (a tar stream on stdin or stdout). */
export type CpOperand =
  | { kind: 'box'; box: string; path: string }
  | { kind: 'host'; path: string }
  | { kind: 'stream' };

/** What `cp` does: copy host → box (`in`) or box → host (`out`); `host` is the host side (a path or the stream). */
export type CpPlan =
  | { direction: 'in'; host: Exclude<CpOperand, { kind: 'box' }>; box: string; guestPath: string }
  | { direction: 'out'; host: Exclude<CpOperand, { kind: 'box' }>; box: string; guestPath: string };

const FORMS = 'use `boxlite cp BOX:PATH HOST_PATH|-` or `boxlite cp HOST_PATH|- BOX:PATH`';

/**
 * Reads one operand as docker does: `-` is the stream; a ':' before any '/' makes `BOX:PATH` (so `box:/p` and
 * `box:p` name a box, while `./a:b` and `/abs/a:b` are host paths).
 */
export function parseCpOperand(arg: string): CpOperand {
  if (arg === '-') return { kind: 'stream' };
  const colon = arg.indexOf(':');
  const slash = arg.indexOf('/');
  if (colon < 0 || (slash >= 0 && slash < colon)) {
    if (arg === '') throw boxliteError('InvalidArgument', `an empty path was given; ${FORMS}`);
    return { kind: 'host', path: arg };
  }
  const box = arg.slice(0, colon);
  const path = arg.slice(colon + 1);
  if (box === '') throw boxliteError('InvalidArgument', `${JSON.stringify(arg)} names no box before ':'; ${FORMS} (write ./${arg} for a host path)`);
  if (path === '') throw boxliteError('InvalidArgument', `${JSON.stringify(arg)} names no path in box ${JSON.stringify(box)} after ':'; e.g. ${box}:/`);
  return { kind: 'box', box, path };
}

/** The plan for `cp SRC DEST`: exactly one side must be `BOX:PATH`; InvalidArgument naming the forms otherwise. */
export function parseCpArgs(src: string, dest: string): CpPlan {
  const a = parseCpOperand(src);
  const b = parseCpOperand(dest);
  if (a.kind === 'box' && b.kind === 'box') {
    throw boxliteError('InvalidArgument', `copying between boxes (${src} to ${dest}) is not supported; copy out to the host, then in: ${FORMS}`);
  }
  if (a.kind === 'box') return { direction: 'out', host: b as Exclude<CpOperand, { kind: 'box' }>, box: a.box, guestPath: a.path };
  if (b.kind === 'box') return { direction: 'in', host: a, box: b.box, guestPath: b.path };
  if (a.kind === 'stream' && b.kind === 'stream') throw boxliteError('InvalidArgument', `\`boxlite cp - -\` names no box; ${FORMS}`);
  throw boxliteError('InvalidArgument', `neither ${JSON.stringify(src)} nor ${JSON.stringify(dest)} is BOX:PATH; ${FORMS}`);
}
