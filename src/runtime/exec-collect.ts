// Collects one output stream of a one-call command into memory, up to a limit; past it the rest is drained unkept.
import type { ExecOutput } from './exec-output.js';

/**
 * @internal Reads `stream` to its end, keeping at most `limit` bytes. The first chunk over the limit calls
 * `onOverflow` once (which kills the command); later chunks are read and dropped, so flow-control credit keeps
 * returning and the command's exit still arrives. Rejects when the stream ended because the box failed.
 */
export async function collectOutput(stream: ExecOutput, limit: number, onOverflow: () => void): Promise<Buffer> {
  const kept: Buffer[] = [];
  let size = 0;
  let over = false;
  for await (const chunk of stream.bytes()) {
    if (over) continue;
    if (size + chunk.length > limit) {
      over = true;
      kept.push(chunk.subarray(0, limit - size));
      size = limit;
      onOverflow();
      continue;
    }
    kept.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(kept, size);
}
