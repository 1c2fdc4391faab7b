// A hostile guest on a real unix socket: malformed, oversized and flooding frames close the portal cleanly; stalls meet deadlines.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BoxliteError } from '../../src/errors.js';
import { PortalClient } from '../../src/portal/client.js';
import { DEFAULT_DEADLINES } from '../../src/portal/deadlines.js';
import { decodeHostFrame, encodeGuestMessage } from '../../src/portal/codec.js';
import { FrameSplitter } from '../../src/portal/framer.js';
import { INITIAL_OUTPUT_WINDOW_BYTES, MAX_FRAME_BYTES, PROTOCOL_VERSION, type HostMessage } from '../../src/portal/protocol.js';

// Plays a guest agent: answers HELLO, then does `misbehave` with each EXEC; `onMessage` sees every message first.
async function fakeGuest(misbehave: (socket: net.Socket, exec: Extract<HostMessage, { kind: 'exec' }>) => void, onMessage?: (socket: net.Socket, msg: HostMessage) => void): Promise<{ path: string; server: net.Server }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-fake-'));
  const sock = path.join(dir, 'portal.sock');
  const server = net.createServer((socket) => {
    const splitter = new FrameSplitter();
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      for (const body of splitter.push(chunk)) {
        const msg = decodeHostFrame(body);
        onMessage?.(socket, msg);
        if (msg.kind === 'hello') socket.write(encodeGuestMessage({ kind: 'helloAck', version: PROTOCOL_VERSION, maxFrame: MAX_FRAME_BYTES, agentVersion: 'fake' }));
        if (msg.kind === 'exec') misbehave(socket, msg);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  return { path: sock, server };
}

async function connectAndExec(sock: string): Promise<{ client: PortalClient; failed: Promise<BoxliteError>; ping: Promise<void> }> {
  const client = await PortalClient.connect(sock, 'box test', Date.now() + 5000);
  await client.handshake();
  let fail!: (e: BoxliteError) => void;
  const failed = new Promise<BoxliteError>((r) => { fail = r; });
  client.exec({ argv: ['x'], env: [], workingDir: '/', tty: false, rows: 24, cols: 80, timeoutMs: 0, user: '' }, {
    onStarted: () => undefined, onOutput: () => undefined, onStdinCredit: () => undefined, onExit: () => undefined, onFailed: fail,
  });
  const ping = client.ping();
  ping.catch(() => undefined);
  return { client, failed, ping };
}

const cases: Array<[string, (s: net.Socket, e: Extract<HostMessage, { kind: 'exec' }>) => void, RegExp]> = [
  ['an unknown frame type', (s) => s.write(Buffer.from([0, 0, 0, 1, 0x42])), /malformed frame: unknown frame type 0x42/],
  ['a frame length above the maximum', (s) => s.write(Buffer.from([0x7f, 0xff, 0xff, 0xff])), /frame length 2147483647 is outside/],
  ['a truncated field', (s, e) => s.write(Buffer.concat([Buffer.from([0, 0, 0, 3, 0x84]), Buffer.from([0, e.id])])), /field overruns the frame/],
  ['output beyond the flow-control window', (s, e) => {
    for (let sent = 0; sent <= INITIAL_OUTPUT_WINDOW_BYTES; sent += 65536) s.write(encodeGuestMessage({ kind: 'stdout', id: e.id, data: Buffer.alloc(65536, 1) }));
  }, /unacknowledged output bytes, the window is 262144/],
];

describe('hostile guest', () => {
  for (const [what, misbehave, message] of cases) {
    it(`closes the portal on ${what}, failing pending calls with a Portal error`, async () => {
      const { path: sock, server } = await fakeGuest(misbehave);
      try {
        const { client, failed, ping } = await connectAndExec(sock);
        const err = await failed;
        assert.equal(err.code, 'Portal');
        assert.match(err.message, message);
        await assert.rejects(ping, (e: unknown) => BoxliteError.is(e) && e.code === 'Portal');
        assert.equal(client.isOpen, false);
        assert.equal(await client.closed, err);
      } finally {
        server.close();
      }
    });
  }
});

// Host-side deadlines against a guest that stalls: the pending call rejects, naming the deadline that passed.
describe('a guest that stalls', () => {
  it('hostile review #5: a stalled half-frame fails pending calls within the partial-frame deadline, naming it', async () => {
    // A STARTED header promising 9 bytes, then nothing more: the host must not wait for the rest forever.
    const { path: sock, server } = await fakeGuest((s) => s.write(Buffer.from([0, 0, 0, 9, 0x84, 0, 0])));
    try {
      const began = Date.now();
      const { client, failed, ping } = await connectAndExec(sock);
      const err = await failed;
      assert.equal(err.code, 'Portal');
      assert.match(err.message, /stalled mid-frame: 7 bytes of a frame arrived and not the rest within 10 s \(the partial-frame deadline\)/);
      await assert.rejects(ping, (e: unknown) => BoxliteError.is(e) && e.code === 'Portal' && /partial-frame deadline/.test(e.message));
      assert.ok(Date.now() - began < 30_000, 'rejected within the bound, not after a hang');
      assert.equal(client.isOpen, false);
    } finally {
      server.close();
    }
  });

  it('hostile review #5: an EXEC the guest never answers fails within the exec-start deadline; the session stays usable', async () => {
    // The fake agent answers PING but ignores EXEC.
    const seen: HostMessage[] = [];
    const { path: sock, server } = await fakeGuest(() => undefined, (socket, msg) => {
      seen.push(msg);
      if (msg.kind === 'ping') socket.write(encodeGuestMessage({ kind: 'pong', id: msg.id }));
    });
    try {
      const client = await PortalClient.connect(sock, 'box test', Date.now() + 5000, undefined, { ...DEFAULT_DEADLINES, execStartMs: 1500 });
      await client.handshake();
      const failed = new Promise<BoxliteError>((resolve) => {
        client.exec({ argv: ['true'], env: [], workingDir: '/', tty: false, rows: 24, cols: 80, timeoutMs: 0, user: '' }, {
          onStarted: () => undefined, onOutput: () => undefined, onStdinCredit: () => undefined, onExit: () => undefined, onFailed: resolve,
        });
      });
      const err = await failed;
      assert.equal(err.code, 'Portal');
      assert.match(err.message, /did not report `true` started within 1.5 s \(the exec-start deadline\)/);
      await client.ping();
      assert.ok(seen.some((m) => m.kind === 'signal' && m.signal === 9), 'the host asked the agent to kill the command');
      client.close();
    } finally {
      server.close();
    }
  });
});
