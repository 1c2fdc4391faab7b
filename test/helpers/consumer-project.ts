// A tiny TypeScript project that uses boxlite's public types, type-checked with the repo's TypeScript as an ESM
// package (strict) and as CommonJS without esModuleInterop, both with skipLibCheck off, so every .d.ts is checked.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** How the consumer is compiled. */
export type ConsumerFlavor = 'esm-strict' | 'cjs-no-interop';

const SOURCE = `import { BoxliteRuntime, BoxCommand, BoxliteError, SecurityOptions } from 'boxlite';
import type {
  BoxInfo, BoxOptions, BoxliteOptions, BoxStageTimings, ExecResult, ImageStore, ImageSummary, PortInfo, PullProgress,
  PulledImage, RecoveryReport, StartMode, BoxMetrics, ImageEvent,
} from 'boxlite';

export async function use(): Promise<string> {
  const options: BoxliteOptions = { homeDir: '/tmp/consumer', insecureRegistries: ['registry.internal:5000'], registryTimeoutMs: 5000 };
  const runtime = new BoxliteRuntime(options);
  const recovery: RecoveryReport = runtime.recovery;
  const boxOptions: BoxOptions = { rootfs: { rootfsPath: '/rootfs' }, diskSizeGb: 1, security: SecurityOptions.development() };
  const box = await runtime.create(boxOptions, 'consumer');
  const run = await box.run(new BoxCommand('echo').arg('hi'));
  const out: string = await run.stdout()!.text();
  const result: ExecResult = await run.wait();
  const info: BoxInfo = box.info();
  const ports: ReadonlyArray<Readonly<PortInfo>> = info.ports;
  const timings: BoxStageTimings | undefined = box.stageTimings;
  const mode: StartMode | undefined = timings?.startMode;
  const metrics: BoxMetrics = await box.metrics();
  const images: ImageStore = runtime.images;
  const list: ImageSummary[] = await images.list();
  const pulled: PulledImage = await images.pull('alpine', { onProgress: (p: PullProgress) => void p.bytesDone, onEvent: (e: ImageEvent) => void e.type });
  await box.stop();
  await runtime.close();
  const err: unknown = new Error('x');
  const code = err instanceof BoxliteError ? err.code : undefined;
  return [out, result.exitCode, ports.length, mode?.restored, metrics.commandsRunTotal, list.length, pulled.digest, recovery.cleaned.length, code].join(' ');
}
`;

const COMPILER_OPTIONS: Record<ConsumerFlavor, ts.CompilerOptions> = {
  'esm-strict': {
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
    strict: true, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true,
  },
  'cjs-no-interop': {
    module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, target: ts.ScriptTarget.ES2022,
    strict: true, esModuleInterop: false, allowSyntheticDefaultImports: false,
  },
};

/**
 * Writes the consumer under `<projectDir>/<flavor>/` (its own package.json type) and type-checks it, resolving
 * `boxlite` and `@types/node` from `<projectDir>/node_modules`. Returns the diagnostics as text, empty when it compiles.
 */
export function compileConsumer(projectDir: string, flavor: ConsumerFlavor): string[] {
  const dir = path.join(projectDir, flavor);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: flavor === 'esm-strict' ? 'module' : 'commonjs', private: true }));
  const file = path.join(dir, 'consumer.ts');
  fs.writeFileSync(file, SOURCE);
  const options: ts.CompilerOptions = {
    ...COMPILER_OPTIONS[flavor], noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [path.join(projectDir, 'node_modules', '@types')],
    lib: ['lib.es2022.d.ts'],
  };
  const program = ts.createProgram([file], options);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  return diagnostics.map((d) => ts.formatDiagnostic(d, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => projectDir, getNewLine: () => '\n' }).trim());
}
