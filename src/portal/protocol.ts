// The portal wire protocol (docs/portal-protocol.md), defined once: constants, message types and their schemas.

/** Protocol version exchanged in HELLO / HELLO_ACK; both sides must agree. */
export const PROTOCOL_VERSION = 7;
/** Largest frame either side may send: the 4-byte length field counts type + payload. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Largest data payload of one STDIN / STDOUT / STDERR frame. */
export const MAX_DATA_BYTES = 256 * 1024;
/** EXEC flags: a pseudo-terminal; argv[0] names one of the agent's file operations (docs/portal-protocol.md, "Files"). */
export const EXEC_FLAG_TTY = 0x01;
export const EXEC_FLAG_BUILTIN = 0x02;
/** Output bytes the guest may send per exec before the host returns credit. */
export const INITIAL_OUTPUT_WINDOW_BYTES = 256 * 1024;
/** Stdin bytes the host may send per exec before the guest returns credit. */
export const INITIAL_STDIN_WINDOW_BYTES = 256 * 1024;

/** Field encodings used by the schemas. `bytes` takes the rest of the payload and must come last. */
export type FieldKind = 'u8' | 'u16' | 'u32' | 'u64' | 'i32' | 'bool' | 'str' | 'strList' | 'bytes';

/** A message schema: its type byte and ordered fields. */
export interface MessageSchema {
  readonly type: number;
  readonly fields: ReadonlyArray<readonly [name: string, kind: FieldKind]>;
}

/** Messages the host sends to the guest agent. */
export const HOST_SCHEMAS = {
  hello: { type: 0x01, fields: [['version', 'u16'], ['maxFrame', 'u32']] },
  mount: {
    type: 0x02,
    fields: [
      ['id', 'u32'], ['lowerDevice', 'str'], ['lowerFsType', 'str'], ['upperDevice', 'str'], ['upperFsType', 'str'], ['hostname', 'str'],
      ['wallClockMs', 'u64'], ['volumes', 'strList'], ['seed', 'bytes'],
    ],
  },
  exec: {
    type: 0x03,
    fields: [
      ['id', 'u32'], ['flags', 'u8'], ['rows', 'u16'], ['cols', 'u16'], ['timeoutMs', 'u32'],
      ['workingDir', 'str'], ['argv', 'strList'], ['env', 'strList'], ['user', 'str'],
    ],
  },
  stdin: { type: 0x04, fields: [['id', 'u32'], ['data', 'bytes']] },
  stdinClose: { type: 0x05, fields: [['id', 'u32']] },
  signal: { type: 0x06, fields: [['id', 'u32'], ['signal', 'i32']] },
  resize: { type: 0x07, fields: [['id', 'u32'], ['rows', 'u16'], ['cols', 'u16']] },
  outputCredit: { type: 0x08, fields: [['id', 'u32'], ['bytes', 'u32']] },
  ping: { type: 0x09, fields: [['id', 'u32']] },
  shutdown: { type: 0x0a, fields: [['id', 'u32']] },
  stats: { type: 0x0b, fields: [['id', 'u32']] },
  freshen: { type: 0x0c, fields: [['id', 'u32'], ['hostname', 'str'], ['wallClockMs', 'u64'], ['seed', 'bytes']] },
  sync: { type: 0x0d, fields: [['id', 'u32']] },
} as const satisfies Record<string, MessageSchema>;

/** Messages the guest agent sends to the host. */
export const GUEST_SCHEMAS = {
  helloAck: { type: 0x81, fields: [['version', 'u16'], ['maxFrame', 'u32'], ['agentVersion', 'str']] },
  ok: { type: 0x82, fields: [['id', 'u32']] },
  error: { type: 0x83, fields: [['id', 'u32'], ['code', 'u32'], ['message', 'str']] },
  started: { type: 0x84, fields: [['id', 'u32'], ['pid', 'u32']] },
  stdout: { type: 0x85, fields: [['id', 'u32'], ['data', 'bytes']] },
  stderr: { type: 0x86, fields: [['id', 'u32'], ['data', 'bytes']] },
  exit: { type: 0x87, fields: [['id', 'u32'], ['status', 'i32'], ['timedOut', 'bool']] },
  stdinCredit: { type: 0x88, fields: [['id', 'u32'], ['bytes', 'u32']] },
  pong: { type: 0x89, fields: [['id', 'u32']] },
  statsReply: {
    type: 0x8a,
    fields: [['id', 'u32'], ['netRxBytes', 'u64'], ['netTxBytes', 'u64'], ['tcpConnections', 'u32'], ['tcpErrors', 'u64']],
  },
} as const satisfies Record<string, MessageSchema>;

/** A message from the host. */
export type HostMessage =
  | { kind: 'hello'; version: number; maxFrame: number }
  | { kind: 'mount'; id: number; lowerDevice: string; lowerFsType: string; upperDevice: string; upperFsType: string; hostname: string; wallClockMs: number; volumes: string[]; seed: Uint8Array }
  | {
      kind: 'exec'; id: number; flags: number; rows: number; cols: number; timeoutMs: number;
      workingDir: string; argv: string[]; env: string[]; user: string;
    }
  | { kind: 'stdin'; id: number; data: Uint8Array }
  | { kind: 'stdinClose'; id: number }
  | { kind: 'signal'; id: number; signal: number }
  | { kind: 'resize'; id: number; rows: number; cols: number }
  | { kind: 'outputCredit'; id: number; bytes: number }
  | { kind: 'ping'; id: number }
  | { kind: 'shutdown'; id: number }
  | { kind: 'stats'; id: number }
  | { kind: 'freshen'; id: number; hostname: string; wallClockMs: number; seed: Uint8Array }
  | { kind: 'sync'; id: number };

/** A message from the guest. */
export type GuestMessage =
  | { kind: 'helloAck'; version: number; maxFrame: number; agentVersion: string }
  | { kind: 'ok'; id: number }
  | { kind: 'error'; id: number; code: number; message: string }
  | { kind: 'started'; id: number; pid: number }
  | { kind: 'stdout'; id: number; data: Uint8Array }
  | { kind: 'stderr'; id: number; data: Uint8Array }
  | { kind: 'exit'; id: number; status: number; timedOut: boolean }
  | { kind: 'stdinCredit'; id: number; bytes: number }
  | { kind: 'pong'; id: number }
  | { kind: 'statsReply'; id: number; netRxBytes: number; netTxBytes: number; tcpConnections: number; tcpErrors: number };
