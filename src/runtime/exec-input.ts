// Feeds a one-call command's standard input from a string, bytes or an async iterable, then closes it (EOF).
import { boxliteError, messageOf } from '../errors.js';
import type { ExecStdin } from './exec-stdin.js';
import type { ExecInput } from './exec-options.js';

/**
 * @internal Writes `input` to `stdin` and closes it. Resolves when done, or early when the command stopped
 * reading (it exited: writes fail, the rest of the input is left unread, as a pipe's reader leaving would).
 * Rejects only when reading `input` itself failed (its iterator threw, or yielded something not text or bytes).
 */
export async function feedInput(stdin: ExecStdin, input: ExecInput | undefined, label: string): Promise<void> {
  try {
    if (input === undefined) return;
    if (typeof input === 'string' || input instanceof Uint8Array) {
      await stdin.write(input).catch(() => undefined);
      return;
    }
    for await (const chunk of readInput(input, label)) {
      const sent = await stdin.write(chunk).then(() => true, () => false);
      if (!sent) return; // leaving the loop ends the iterator (a Readable is destroyed)
    }
  } finally {
    await stdin.close().catch(() => undefined);
  }
}

async function* readInput(input: AsyncIterable<unknown>, label: string): AsyncGenerator<string | Uint8Array> {
  const it = input[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<unknown>;
      try {
        next = await it.next();
      } catch (err) {
        throw boxliteError('InvalidArgument', `reading the input of ${label} failed: ${messageOf(err)}`, err);
      }
      if (next.done) return;
      const chunk = next.value;
      if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
        throw boxliteError('InvalidArgument', `the input of ${label} yielded ${typeof chunk}; it must yield strings or Uint8Arrays (Buffers)`);
      }
      yield chunk;
    }
  } finally {
    await it.return?.();
  }
}
