// Locates and loads the compiled addon (build/Release/kiln.node), once, on first use.
// Order: the KILN_NATIVE_PATH environment variable, then build/Release of this package.
// (Prebuilt binaries under prebuilds/ will be added here.)

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

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

let binding: NativeBinding | undefined;

export function candidatePaths(): string[] {
  const paths: string[] = [];
  const override = process.env['KILN_NATIVE_PATH'];
  if (override) paths.push(path.resolve(override));
  paths.push(path.join(packageRoot, 'build', 'Release', 'kiln.node'));
  return paths;
}

export function native(): NativeBinding {
  if (binding !== undefined) return binding;
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const candidate of candidatePaths()) {
    try {
      const loaded = require(candidate) as NativeBinding;
      loaded.setErrorClass(KilnError);
      binding = loaded;
      return loaded;
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      failures.push(`  ${candidate}\n    ${reason}`);
    }
  }
  throw new KilnError(
    'KILN_INTERNAL',
    [
      'Kiln could not load its native addon. Tried:',
      ...failures,
      `Fix: build it from the package directory (${packageRoot}) with \`npm run build:native\``,
      '(needs CMake >= 3.18 and a C++17 compiler), or point KILN_NATIVE_PATH at a built kiln.node.',
    ].join('\n'),
  );
}
