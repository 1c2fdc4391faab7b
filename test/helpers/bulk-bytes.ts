// The deterministic byte stream network tests move (AES-128-CTR of zeros under a fixed key), and its sha256.
import crypto from 'node:crypto';

const KEY = Buffer.alloc(16, 7);
const IV = Buffer.alloc(16, 0);
const CHUNK = 1024 * 1024;

/** `bytes` bytes of the stream, in 1 MiB chunks (the same every time). */
export function* bulkChunks(bytes: number): Generator<Buffer> {
  const cipher = crypto.createCipheriv('aes-128-ctr', KEY, IV);
  const zeros = Buffer.alloc(CHUNK);
  for (let left = bytes; left > 0; left -= CHUNK) yield cipher.update(left >= CHUNK ? zeros : zeros.subarray(0, left));
}

/** The sha256 (hex) of the first `bytes` bytes of the stream. */
export function bulkSha256(bytes: number): string {
  const h = crypto.createHash('sha256');
  for (const c of bulkChunks(bytes)) h.update(c);
  return h.digest('hex');
}
