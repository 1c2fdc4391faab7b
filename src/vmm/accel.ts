// Chooses KVM or TCG: KVM only where it can really run a stock guest kernel, and says why.
import fs from 'node:fs';
import { boxliteError } from '../errors.js';

/** Which hypervisor backend runs the guest: hardware (KVM) or QEMU's software emulation (TCG). */
export type Accelerator = 'kvm' | 'tcg';

/** What the user asked for: `auto` picks KVM when it works, else TCG. */
export type AcceleratorPreference = 'auto' | Accelerator;

/** The chosen accelerator and a sentence saying why. */
export interface AcceleratorChoice {
  readonly accelerator: Accelerator;
  readonly reason: string;
}

/** Facts about the host that decide whether KVM can run the guest (injectable for tests). */
export interface HostFacts {
  kvmDeviceUsable: boolean;
  cpuHasVirtualization: boolean;
  kvmPvmLoaded: boolean;
}

/** @internal Reads the host facts from /dev/kvm, /proc/cpuinfo and /sys/module. */
export function readHostFacts(): HostFacts {
  let kvmDeviceUsable = false;
  try {
    fs.accessSync('/dev/kvm', fs.constants.R_OK | fs.constants.W_OK);
    kvmDeviceUsable = true;
  } catch { /* no usable /dev/kvm */ }
  let cpuinfo = '';
  try { cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8'); } catch { /* not Linux */ }
  const flags = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1]?.split(/\s+/) ?? [];
  return {
    kvmDeviceUsable,
    cpuHasVirtualization: flags.includes('vmx') || flags.includes('svm'),
    kvmPvmLoaded: fs.existsSync('/sys/module/kvm_pvm'),
  };
}

/** Decides the accelerator from a preference and host facts; `kvm` on a host that cannot run it is a Config error. */
export function chooseAccelerator(pref: AcceleratorPreference, facts: HostFacts = readHostFacts()): AcceleratorChoice {
  if (pref === 'tcg') return { accelerator: 'tcg', reason: 'software emulation (TCG) was requested' };
  const why = kvmProblem(facts);
  if (pref === 'kvm') {
    if (why) throw boxliteError('Config', `accelerator "kvm" was requested but KVM cannot run the guest here: ${why}; use accelerator "auto" or "tcg"`);
    return { accelerator: 'kvm', reason: 'KVM was requested and the CPU supports it' };
  }
  if (pref !== 'auto') throw boxliteError('InvalidArgument', `accelerator must be "auto", "kvm" or "tcg", got ${JSON.stringify(pref)}`);
  return why
    ? { accelerator: 'tcg', reason: `software emulation (TCG, slower): ${why}` }
    : { accelerator: 'kvm', reason: 'hardware virtualization (KVM)' };
}

function kvmProblem(f: HostFacts): string | undefined {
  if (!f.kvmDeviceUsable) return '/dev/kvm is missing or not readable and writable';
  if (f.kvmPvmLoaded) return '/dev/kvm is kvm-pvm, which runs only PVM-enabled guest kernels';
  if (!f.cpuHasVirtualization) return 'the CPU exposes no VMX/SVM virtualization';
  return undefined;
}

/** @internal The host TSC frequency in kHz (guests are told it at boot), or a safe default. */
export function hostTscKhz(): number {
  try {
    const mhz = /^cpu MHz\s*:\s*([\d.]+)/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
    if (mhz) return Math.round(Number(mhz) * 1000);
  } catch { /* fall through */ }
  return 2_600_000;
}
