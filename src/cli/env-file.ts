// `--env-file`: Docker's environment file format (KEY=VALUE lines, # comments, blank lines, bare KEY from the host).
import fs from 'node:fs';
import { boxliteError } from '../errors.js';

/**
 * The variables of one env file's text, in order. A line is `KEY=VALUE` (the value is taken as written, quotes
 * and spaces included, as Docker does), a bare `KEY` (this process's value; skipped when unset), a comment
 * starting with `#`, or blank; leading whitespace is ignored. InvalidArgument naming `file:line` otherwise.
 */
export function parseEnvFile(text: string, file: string, hostEnv: NodeJS.ProcessEnv = process.env): Array<[string, string]> {
  const vars: Array<[string, string]> = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trimStart();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line.trimEnd() : line.slice(0, eq);
    const bad = key === '' ? 'a variable name is missing before "="' : /\s/.test(key) ? `variable name ${JSON.stringify(key)} contains whitespace` : key.includes('\0') ? 'a NUL byte' : undefined;
    if (bad) throw boxliteError('InvalidArgument', `--env-file ${file}:${i + 1}: ${bad}; lines must be KEY=VALUE, a bare KEY (its value here), # comments or blank`);
    if (eq >= 0) vars.push([key, line.slice(eq + 1)]);
    else if (hostEnv[key] !== undefined) vars.push([key, hostEnv[key]!]);
  });
  return vars;
}

/** Reads and parses each env file in order; InvalidArgument naming the file when it cannot be read. */
export function readEnvFiles(files: readonly string[], hostEnv: NodeJS.ProcessEnv = process.env): Array<[string, string]> {
  return files.flatMap((file) => {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw boxliteError('InvalidArgument', `--env-file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`, err);
    }
    return parseEnvFile(text, file, hostEnv);
  });
}
