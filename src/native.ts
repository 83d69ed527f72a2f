// Locates and loads the native addon, once, on first use. Candidates, in order (the first that loads wins):
//   1. KILN_NATIVE_PATH: an explicit path to a kiln.node;
//   2. build/Release/kiln.node: a source build (`npm run build:native`; present only in a checkout or after an
//      explicit build);
//   3. prebuilds/<platform>[musl]-<arch>.node: the prebuilt binary for this OS, libc (detect-libc) and CPU,
//      shipped inside the npm package. KILN_NATIVE_TARGET replaces the computed <target> (for tests).
// If none loads, one KilnError lists every path tried with its real load error, and what to do.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import { familySync, MUSL, versionSync } from 'detect-libc';

import { KilnError } from './errors.js';

export interface NativeInputInfo {
  name: string;
  type: 'number' | 'category';
  dtype?: 'string' | 'number';
  nullable: boolean;
  vocabulary?: string[];
}

export interface NativeModelInfo {
  name: string;
  task: 'classification' | 'regression';
  inputs: NativeInputInfo[];
  /** Class labels as JSON text, in the model's order. */
  classesJson: string[];
  hasProbabilities: boolean;
  nDecision: number;
  /** Doubles per row written by predictInto: [label index, probabilities..., decision...] or [value]. */
  outputWidth: number;
  /** The model's metadata object as JSON text. */
  metadata: string;
  verification: { rowsChecked: number; maxAbsError: number };
}

export type InputMatrix = Float64Array | Float32Array;

export interface NativeModel {
  info(): NativeModelInfo;
  /** Reads nRows rows from input, writes nRows * outputWidth doubles into out. Synchronous. */
  predictInto(input: InputMatrix, nRows: number, out: Float64Array): void;
  /** The same on the thread pool; resolves with `out`. */
  predictAsync(input: InputMatrix, nRows: number, out: Float64Array): Promise<Float64Array>;
  /**
   * Binds a one-row input (inputs.length doubles) and output (outputWidth doubles) once; the returned
   * function predicts row -> out synchronously with no argument handling. Neither array may be
   * detached afterwards.
   */
  bindRow(row: Float64Array, out: Float64Array): () => void;
  /**
   * The server's one-record body path (native/binding/row_predictor.h), bound like bindRow: the
   * returned function scans a JSON request body (bytes) into `row` and predicts it into `out`;
   * false when the body is not the plain case (the caller then uses JSON.parse and predict()).
   */
  bindBody(row: Float64Array, out: Float64Array): (bytes: Uint8Array) => boolean;
  /**
   * The same for a body of several records (shape 0: an array of records; 1: KServe V1
   * {"instances": [...]}), at most maxRows of them: the output rows, or null when declined.
   */
  bindBodyRows(): (bytes: Uint8Array, shape: number, maxRows: number) => Float64Array | null;
  /** predictInto as a function of its own (own workspace, no `this` to check): the sync fast path. */
  bindMatrix(): (input: InputMatrix, nRows: number, out: Float64Array) => void;
}

export interface NativeBinding {
  setErrorClass(errorClass: typeof KilnError): void;
  Model: {
    loadFile(path: string): NativeModel;
    loadString(json: string): NativeModel;
    loadFileAsync(path: string): Promise<NativeModel>;
  };
}

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The targets the published npm package carries a prebuild for (built by .github/workflows/prebuild.yml). */
export const PREBUILD_TARGETS = ['linux-x64', 'linux-arm64', 'linuxmusl-x64', 'linuxmusl-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];

/** The prebuild name for this process: `${platform}${'musl' on musl Linux}-${arch}`, e.g. linux-x64, linuxmusl-arm64. */
export function prebuildTarget(): string {
  const forced = process.env['KILN_NATIVE_TARGET'];
  if (forced) return forced;
  const musl = process.platform === 'linux' && familySync() === MUSL;
  return `${process.platform}${musl ? 'musl' : ''}-${process.arch}`;
}

export function candidatePaths(): string[] {
  const paths: string[] = [];
  const override = process.env['KILN_NATIVE_PATH'];
  if (override) paths.push(path.resolve(override));
  paths.push(path.join(packageRoot, 'build', 'Release', 'kiln.node'));
  paths.push(path.join(packageRoot, 'prebuilds', `${prebuildTarget()}.node`));
  return paths;
}

let binding: NativeBinding | undefined;

export function native(): NativeBinding {
  if (binding !== undefined) return binding;
  const require = createRequire(import.meta.url);
  const failures: Array<{ candidate: string; reason: string }> = [];
  for (const candidate of candidatePaths()) {
    if (!existsSync(candidate)) {
      failures.push({ candidate, reason: 'no such file' });
      continue;
    }
    try {
      const loaded = require(candidate) as NativeBinding;
      loaded.setErrorClass(KilnError);
      binding = loaded;
      return loaded;
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      failures.push({ candidate, reason });
    }
  }
  throw new KilnError('KILN_INTERNAL', loadFailureMessage(failures));
}

/** @internal Exported for tests: the one message listing every candidate and what to do. */
export function loadFailureMessage(failures: Array<{ candidate: string; reason: string }>): string {
  const target = prebuildTarget();
  const libc = process.platform === 'linux' ? ` (${familySync() ?? 'unknown libc'} ${versionSync() ?? ''})`.replace(' )', ')') : '';
  const fixes: string[] = [];
  const prebuild = failures.find((f) => f.candidate.endsWith(`${path.sep}prebuilds${path.sep}${target}.node`));
  if (prebuild?.reason === 'no such file') {
    if (PREBUILD_TARGETS.includes(target)) {
      fixes.push(`- The prebuild for ${target} is missing from this copy of Kiln (a git checkout has none until`,
        '  `npm run build:prebuild`; the npm package ships it): reinstall the package, or build from source as below.');
    } else {
      fixes.push(`- No prebuilt binary ships for ${target}${libc}. The npm package has prebuilds for`,
        `  ${PREBUILD_TARGETS.join(', ')}.`);
    }
  }
  const versionError = failures.find((f) => /GLIBC_|GLIBCXX_|CXXABI_/.test(f.reason));
  if (versionError) {
    // The loader's own message names the version the binary needs (e.g. `GLIBC_2.36' not found):
    // quote it rather than a floor that depends on where the binary was built.
    const needed = /`?((?:GLIBC|GLIBCXX|CXXABI)_[0-9.]+)'? not found/.exec(versionError.reason)?.[1] ?? 'a newer glibc';
    fixes.push(`- This system's C library is too old for the prebuilt binary: it needs ${needed}${libc ? `, this is${libc}` : ''}.`,
      '  Update the OS (or use a newer base image), or build from source as below.');
  }
  if (failures.some((f) => /invalid ELF header|wrong ELF class|not a valid Win32|mach-o|cannot open shared object|Error loading shared library/i.test(f.reason))) {
    fixes.push('- A binary was built for another OS, CPU or libc (e.g. node_modules copied between machines): reinstall on this one.');
  }
  fixes.push(`- Build from source: \`npm run build:native\` in ${packageRoot}`,
    '  (needs CMake >= 3.18 and a C++17 compiler; it says what is missing), or set KILN_NATIVE_PATH to a built kiln.node.',
    '  See docs/install.md.');
  return [
    `Kiln could not load its native addon for ${target}${libc}, Node ${process.version}. Tried, in order:`,
    ...failures.map((f) => `  ${f.candidate}\n    ${f.reason}`),
    'What to do:',
    ...fixes,
  ].join('\n');
}
