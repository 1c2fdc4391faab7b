// /proc/net/tcp and tcp6 parsing: listening sockets only, addresses decoded, loopback recognised.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTcpListeners } from '../../../src/runtime/proc-net-tcp.js';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1235 1 0000000000000000 100 0 0 10 0
   2: 0F02000A:1F40 0202000A:C350 01 00000000:00000000 00:00000000 00000000     0        0 1236 1 0000000000000000 20 4 30 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 00000000000000000000000001000000:0BB9 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:0BBA 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0
`;

test('listeners of tcp and tcp6, with decoded addresses; established sockets are left out', () => {
  assert.deepEqual(parseTcpListeners(TCP + TCP6), [
    { address: '0.0.0.0', port: 8000, loopback: false },
    { address: '127.0.0.1', port: 80, loopback: true },
    { address: '0:0:0:0:0:0:0:0', port: 3000, loopback: false },
    { address: '0:0:0:0:0:0:0:1', port: 3001, loopback: true },
    { address: '::ffff:127.0.0.1', port: 3002, loopback: true },
  ]);
});

test('text that is not /proc/net/tcp gives no listeners', () => {
  assert.deepEqual(parseTcpListeners(''), []);
  assert.deepEqual(parseTcpListeners('cat: /proc/net/tcp6: No such file or directory\n'), []);
});
