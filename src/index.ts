// Public API of boxlite: named exports only.
export { BoxliteError, ErrorCode } from './errors.js';
export { BoxliteRuntime } from './runtime/runtime.js';
export type { RuntimeMetrics } from './runtime/runtime.js';
export { LiteBox } from './runtime/box.js';
export { BoxCommand } from './runtime/command.js';
export { Execution, ExecResult } from './runtime/execution.js';
export { ExecOutput } from './runtime/exec-output.js';
export { ExecStdin } from './runtime/exec-stdin.js';
export { BoxStatus } from './runtime/status.js';
export type { BoxInfo, BoxState } from './runtime/status.js';
export { Bytes, Seconds } from './runtime/types.js';
export type { BoxMetrics } from './runtime/metrics.js';
export { BoxID, ContainerID } from './runtime/ids.js';
export type { StageTimings } from './runtime/boot.js';
export type {
  BoxOptions, BoxliteOptions, RootfsSpec, VolumeSpec, NetworkSpec, PortSpec,
} from './runtime/options.js';
export { SecurityOptions, SecurityOptionsBuilder } from './runtime/security.js';
export type { ResourceLimits, SecurityJson, SecurityPreset } from './runtime/security.js';
export type { AcceleratorPreference, AcceleratorChoice } from './vmm/accel.js';
export type { EgressPolicy, EgressRule, NetworkPolicy } from './vmm/network/policy.js';
export { chooseAccelerator } from './vmm/accel.js';
// One-call commands, waiting for servers, and the high-level boxes (SimpleBox, CodeBox).
export { SimpleBox } from './boxes/simple-box.js';
export type { SimpleBoxOptions } from './boxes/simple-box.js';
export { CodeBox, DEFAULT_CODE_IMAGE } from './boxes/code-box.js';
export type { CodeBoxOptions, CodeResult, RunCodeOptions } from './boxes/code-box.js';
export type { CodeError } from './boxes/code-errors.js';
export type { CodeLanguage } from './boxes/interpreters.js';
export { DEFAULT_MAX_BUFFER_BYTES } from './runtime/exec-options.js';
export type { BufferExecOptions, CommandResult, ExecInput, ExecOptions, TextExecOptions } from './runtime/exec-options.js';
export { RECENT_OUTPUT_BYTES } from './runtime/output-watch.js';
export type { OutputMatch, OutputStreamName, WaitForOutputOptions } from './runtime/output-watch.js';
export type { WaitForPortOptions } from './runtime/wait-for-port.js';
