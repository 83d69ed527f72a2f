// Turns the engine's output rows into prediction objects.
// Row layout (kiln/model.h): classification [label index, probabilities..., decision...];
// regression [value].

import type { NativeModelInfo } from './native.js';
import type { Label, Prediction } from './types.js';

// Up to this many probabilities (or decision values) the compiled decoder writes the array as a
// literal; more go through a loop, so a model with 100,000 classes does not compile a huge function.
const LITERAL_MAX_VALUES = 32;

type Decode = (out: Float64Array, base: number) => Prediction;

export class OutputDecoder {
  readonly width: number;
  /** The prediction of the row at out[base ...] (the compiled decoder itself: no method call between). */
  readonly decodeRow: Decode;

  constructor(info: NativeModelInfo, classes: readonly Label[] | undefined) {
    this.width = info.outputWidth;
    const nProbabilities = info.hasProbabilities ? (classes?.length ?? 0) : 0;
    this.decodeRow = compileDecoder(classes, nProbabilities, info.nDecision);
  }

  decode(out: Float64Array, row: number): Prediction {
    return this.decodeRow(out, row * this.width);
  }

  decodeAll(out: Float64Array, nRows: number): Prediction[] {
    const decode = this.decodeRow;
    const width = this.width;
    const results = new Array<Prediction>(nRows);
    for (let row = 0; row < nRows; row++) results[row] = decode(out, row * width);
    return results;
  }
}

/**
 * Compiles, per model, the decoder of one output row: the prediction object as one literal
 * ({label, probabilities, decision} in that order, the members the model has; {value} for
 * regression), its arrays as array literals. V8 builds such a literal from a boilerplate in one
 * allocation with its final shape, where adding the members one by one and filling `new Array(n)`
 * walks the shape transitions and writes each element through a store (~2.5x the time of the
 * literal on the breast_cancer logreg row, bench/dev/README.md). The code holds only numbers and
 * fixed names: the labels are read from the `classes` array it closes over.
 */
export function compileDecoder(classes: readonly Label[] | undefined, nProbabilities: number, nDecision: number): Decode {
  if (classes === undefined) return (out, base) => ({ value: out[base] as number });
  const array = (from: number, count: number): string =>
    count <= LITERAL_MAX_VALUES
      ? `[${Array.from({ length: count }, (_, i) => `out[base + ${from + i}]`).join(', ')}]`
      : `slice(out, base + ${from}, ${count})`;
  const members = ['label: classes[out[base]]'];
  if (nProbabilities > 0) members.push(`probabilities: ${array(1, nProbabilities)}`);
  if (nDecision > 0) members.push(`decision: ${array(1 + nProbabilities, nDecision)}`);
  const factory = new Function('classes', 'slice', `return function decode(out, base) {\n  return { ${members.join(', ')} };\n};`) as (
    classes: readonly Label[],
    slice: (out: Float64Array, from: number, count: number) => number[],
  ) => Decode;
  return factory(classes, slice);
}

function slice(out: Float64Array, from: number, count: number): number[] {
  const values = new Array<number>(count);
  for (let i = 0; i < count; i++) values[i] = out[from + i] as number;
  return values;
}
