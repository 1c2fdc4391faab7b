// Parses the uncaught error an interpreter printed on stderr: Python's traceback, Node's stack.

/** The uncaught error of a `runCode()`: its type, message and traceback as the interpreter printed it. */
export interface CodeError {
  /** The error type, e.g. `ZeroDivisionError`, `json.decoder.JSONDecodeError`, `TypeError`. */
  name: string;
  /** Its message (may span lines; empty when it had none). */
  message: string;
  /** The traceback (Python) or stack (Node) text, from its first line to the error line or last frame. */
  traceback: string;
}

const PY_ERROR_LINE = /^([A-Za-z_][\w.]*)(?::(?: (.*))?)?$/;

/**
 * @internal Python's last uncaught exception in `stderr`: the last `Traceback (most recent call last):` block, or a
 * SyntaxError's `File ..., line N` block (Python prints no Traceback header for a script that does not compile).
 */
export function parsePythonError(stderr: string): CodeError | undefined {
  const lines = stderr.replace(/\n+$/, '').split('\n');
  let start = lines.findLastIndex((l) => l.startsWith('Traceback (most recent call last):'));
  if (start < 0) start = lines.findLastIndex((l) => /^ {2}File ".*", line \d+/.test(l));
  if (start < 0) return undefined;
  const first = chainStart(lines, start);
  // The exception line is the first line after the frames that is not indented.
  let i = start + 1;
  while (i < lines.length && (lines[i]!.startsWith(' ') || lines[i] === '')) i++;
  const m = PY_ERROR_LINE.exec(lines[i] ?? '');
  if (!m) return undefined;
  const message = [m[2] ?? '', ...lines.slice(i + 1)].join('\n');
  return { name: m[1]!, message, traceback: lines.slice(first).join('\n') };
}

const CHAINED = /^(The above exception was the direct cause of the following exception:|During handling of the above exception, another exception occurred:)$/;

// A chained exception (`raise ... from`, or raised while handling another) prints the earlier tracebacks first.
function chainStart(lines: string[], start: number): number {
  while (start >= 2 && lines[start - 1] === '' && CHAINED.test(lines[start - 2]!)) {
    const prev = lines.slice(0, start - 2).findLastIndex((l) => l.startsWith('Traceback (most recent call last):'));
    if (prev < 0) break;
    start = prev;
  }
  return start;
}

const JS_ERROR_LINE = /^([A-Za-z_$][\w$.]*)(?: \[[\w-]+\])?(?:: (.*))?$/;
const FRAME = /^ {4}(?:at |\.\.\. \d+ lines? matching)/;

/**
 * @internal Node's uncaught error in `stderr`: the first `Name: message` line at column 0 followed by `    at` frames,
 * with its stack up to the last frame. A thrown non-Error (no frames) gives its printed value as the message.
 */
export function parseNodeError(stderr: string): CodeError | undefined {
  const lines = stderr.replace(/\n+$/, '').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = JS_ERROR_LINE.exec(lines[i]!);
    if (!m || !FRAME.test(lines[i + 1] ?? '')) continue;
    let end = i + 1;
    while (end + 1 < lines.length && FRAME.test(lines[end + 1]!)) end++;
    // The last frame ends with " {" when Node goes on to print the error's own properties (code, cause).
    const stack = lines.slice(i, end + 1).join('\n').replace(/ \{$/, '');
    return { name: m[1]!, message: m[2] ?? '', traceback: stack };
  }
  // `throw 'text'`: Node prints the source line, a caret, then the value.
  const caret = lines.findIndex((l) => /^\s*\^+\s*$/.test(l));
  const value = caret >= 0 ? lines.slice(caret + 1).find((l) => l.trim() !== '') : undefined;
  if (value === undefined) return undefined;
  return { name: 'Uncaught', message: value, traceback: lines.slice(0, caret + 2).join('\n') };
}
