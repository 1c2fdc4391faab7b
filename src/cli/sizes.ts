// Docker-style size flags (`--memory 512m`, `--disk 10g`) turned into the whole MiB and GiB that BoxOptions take.
import { boxliteError } from '../errors.js';

const UNIT_BYTES: Record<string, number> = { b: 1, k: 2 ** 10, kb: 2 ** 10, m: 2 ** 20, mb: 2 ** 20, g: 2 ** 30, gb: 2 ** 30 };
const SIZE = /^(\d+(?:\.\d+)?)([a-z]*)$/;
const FORMS = 'suffixes b, k, m, g (or kb, mb, gb; any case; powers of 1024)';

/**
 * `--memory`: `512m`, `2g`, `1.5g`, `524288k` or a bare number of MiB (`512`), as whole MiB. InvalidArgument naming
 * the flag, the value and the accepted forms when it is not a size or not a whole number of MiB.
 */
export function parseMemoryFlag(value: string, flag = '--memory'): number {
  return parseSize(value, flag, 2 ** 20, 'MiB', `a size such as 512m, 2g or 1.5g (${FORMS}; a bare number is MiB)`);
}

/** `--disk`: `10g`, `10240m` or a bare number of GiB (`10`), as whole GiB (the unit of `diskSizeGb`). */
export function parseDiskFlag(value: string, flag = '--disk'): number {
  return parseSize(value, flag, 2 ** 30, 'GiB', `a size such as 10g or 20480m (${FORMS}; a bare number is GiB)`);
}

// A size in bytes divided by `unitBytes`, which must come out whole; a bare number counts in units already.
function parseSize(value: string, flag: string, unitBytes: number, unitName: string, forms: string): number {
  const m = SIZE.exec(value.trim().toLowerCase());
  const bytesPerUnit = m ? (m[2] === '' ? unitBytes : UNIT_BYTES[m[2]!]) : undefined;
  if (!m || bytesPerUnit === undefined) throw boxliteError('InvalidArgument', `${flag} must be ${forms}, got ${JSON.stringify(value)}`);
  const units = (Number(m[1]) * bytesPerUnit) / unitBytes;
  if (!Number.isSafeInteger(units) || units <= 0) {
    throw boxliteError('InvalidArgument', `${flag} must be a positive whole number of ${unitName}, got ${JSON.stringify(value)} (${units} ${unitName}); give ${forms}`);
  }
  return units;
}
