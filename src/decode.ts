// Turns the engine's output rows into prediction objects.
// Row layout (kiln/model.h): classification [label index, probabilities..., decision...];
// regression [value].

import type { NativeModelInfo } from './native.js';
import type { Label, Prediction } from './types.js';

export class OutputDecoder {
  readonly width: number;
  readonly #classes: readonly Label[] | undefined;
  readonly #nProbabilities: number;
  readonly #nDecision: number;

  constructor(info: NativeModelInfo, classes: readonly Label[] | undefined) {
    this.width = info.outputWidth;
    this.#classes = classes;
    this.#nProbabilities = info.hasProbabilities ? (classes?.length ?? 0) : 0;
    this.#nDecision = info.nDecision;
  }

  decode(out: Float64Array, row: number): Prediction {
    const base = row * this.width;
    const classes = this.#classes;
    if (classes === undefined) return { value: out[base] as number };

    const prediction: { label: Label; probabilities?: number[]; decision?: number[] } = {
      label: classes[out[base] as number] as Label,
    };
    let at = base + 1;
    if (this.#nProbabilities > 0) {
      prediction.probabilities = slice(out, at, this.#nProbabilities);
      at += this.#nProbabilities;
    }
    if (this.#nDecision > 0) prediction.decision = slice(out, at, this.#nDecision);
    return prediction;
  }

  decodeAll(out: Float64Array, nRows: number): Prediction[] {
    const results = new Array<Prediction>(nRows);
    for (let row = 0; row < nRows; row++) results[row] = this.decode(out, row);
    return results;
  }
}

function slice(out: Float64Array, from: number, count: number): number[] {
  const values = new Array<number>(count);
  for (let i = 0; i < count; i++) values[i] = out[from + i] as number;
  return values;
}
