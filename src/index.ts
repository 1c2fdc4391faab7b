// Public API of boxlite: named exports only, `export type` for types, grouped by concern. Every type a public
// signature names is exported here, and nothing of the VMM driver, state store or portal (test/unit/package checks).

// Errors
export { BoxliteError, ErrorCode } from './errors.js';

// Runtime
export { BoxliteRuntime } from './runtime/runtime.js';
export type { RuntimeMetrics } from './runtime/runtime.js';
export type { RecoveryReport } from './runtime/recovery.js';
export type { BoxOptions, BoxliteOptions, RootfsSpec, VolumeSpec, NetworkSpec, PortSpec } from './runtime/options.js';

// Boxes
export { LiteBox } from './runtime/box.js';
export { BoxStatus } from './runtime/status.js';
export type { BoxInfo, BoxState, PortInfo, StatusName as BoxStatusName } from './runtime/status.js';
export type { BoxMetrics } from './runtime/metrics.js';
export { BoxSnapshots } from './runtime/snapshots.js';
export type { SnapshotCreateOptions, SnapshotInfo } from './runtime/snapshots.js';
export type { BoxConfig, VolumeInfo } from './runtime/box-config.js';
export type { BoxStageTimings, StageTimings, StartBreakdown, StartMode } from './runtime/stage-timings.js';
export { BoxID, ContainerID } from './runtime/ids.js';
export { Bytes, Seconds } from './runtime/types.js';

// Commands
export { BoxCommand } from './runtime/command.js';
export { Execution, ExecResult } from './runtime/execution.js';
export type { CreateOptions, ForkOptions, RunOptions, SignalOptions, StartOptions, WaitOptions } from './runtime/call-options.js';
export { ExecOutput } from './runtime/exec-output.js';
export { ExecStdin } from './runtime/exec-stdin.js';

// Images (runtime.images)
export type { ImageStore, PulledImage, ImageSummary, PruneOptions, PruneResult } from './images/index.js';
export type { ImageConfig, ImageEvent, ImageOperationOptions, PullProgress, CredentialMap, RegistryCredential, CommitOptions, PushResult } from './images/index.js';

// First-use progress (guest artifacts, rootfs disks)
export type { ProgressEvent, ArtifactName } from './setup/progress.js';
export type { GuestKernel, KernelFlavor } from './setup/kernel-flavor.js';

// Security
export { SecurityOptions, SecurityOptionsBuilder } from './runtime/security.js';
export type { ResourceLimits, SecurityJson, SecurityPreset } from './runtime/security.js';

// Network
export type { EgressPolicy, EgressRule, NetworkPolicy } from './vmm/network/policy.js';

// Accelerator
export { chooseAccelerator } from './vmm/accel.js';
export type { Accelerator, AcceleratorPreference, AcceleratorChoice, HostFacts } from './vmm/accel.js';

// Files
export { BoxFs } from './files/box-fs.js';
export type { FileData } from './files/box-fs.js';
export { BoxWatcher } from './files/watch.js';
export { BoxStats } from './files/types.js';
export type {
  BoxDirent, BoxFileType, CopyInOptions, CopyOutOptions, CopyResult, ReadFileOptions, ReaddirOptions, WatchEvent, WatchEventType,
  WriteFileOptions,
} from './files/types.js';

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
