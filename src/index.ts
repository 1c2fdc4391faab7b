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
export type { ProgressEvent, ArtifactName } from './setup/progress.js';
export type {
  BoxOptions, BoxliteOptions, RootfsSpec, VolumeSpec, NetworkSpec, PortSpec,
} from './runtime/options.js';
export { SecurityOptions, SecurityOptionsBuilder } from './runtime/security.js';
export type { ResourceLimits, SecurityJson, SecurityPreset } from './runtime/security.js';
export type { AcceleratorPreference, AcceleratorChoice } from './vmm/accel.js';
export type { EgressPolicy, EgressRule, NetworkPolicy } from './vmm/network/policy.js';
export { chooseAccelerator } from './vmm/accel.js';
