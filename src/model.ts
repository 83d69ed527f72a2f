// The Model class: loading, and predict in its sync/async, record/matrix forms.

import { OutputDecoder } from './decode.js';
import { RowEncoder, type FeatureRecord } from './encode.js';
import { KilnError } from './errors.js';
import { native, type InputMatrix, type NativeModel } from './native.js';
import type { InputInfo, Label, Prediction, Task, VerificationInfo } from './types.js';

// predictBatch() keeps its encode/output buffers between calls up to this many doubles (512 KiB
// each); bigger batches get buffers of their own, so one huge call does not pin memory forever.
const SCRATCH_MAX_DOUBLES = 64 * 1024;

/** Loads, validates and verifies a model file (synchronously). Throws KilnError KILN_MODEL_*. */
export function loadModel(path: string): Model {
  if (typeof path !== 'string' || path.length === 0) throw argumentError('loadModel(path): path must be a non-empty string');
  return new Model(native().Model.loadFile(path));
}

/** Same as loadModel, with the reading, compiling and verifying done off the event loop. */
export async function loadModelAsync(path: string): Promise<Model> {
  if (typeof path !== 'string' || path.length === 0) throw argumentError('loadModelAsync(path): path must be a non-empty string');
  return new Model(await native().Model.loadFileAsync(path));
}

/** Same as loadModel, from the model's JSON text. */
export function loadModelFromString(json: string): Model {
  if (typeof json !== 'string') throw argumentError('loadModelFromString(json): json must be a string');
  return new Model(native().Model.loadString(json));
}

/**
 * A loaded model. Immutable; safe to share between any number of concurrent predictions.
 * The async methods run on the libuv thread pool: while one is pending, do not transfer or
 * modify the typed array handed to it.
 */
export class Model {
  readonly name: string;
  readonly task: Task;
  readonly inputs: readonly InputInfo[];
  /** Classification: the labels in the model's order; regression: null. */
  readonly classes: readonly Label[] | null;
  readonly hasProbabilities: boolean;
  readonly nDecision: number;
  /** Doubles per row produced by predictMatrixRaw(). */
  readonly outputWidth: number;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly verification: VerificationInfo;

  readonly #native: NativeModel;
  readonly #encoder: RowEncoder;
  readonly #decoder: OutputDecoder;
  readonly #decodeRow: (out: Float64Array, base: number) => Prediction;
  readonly #row: Float64Array;
  readonly #out: Float64Array;
  readonly #predictRow: () => void;
  readonly #predictBody: (bytes: Uint8Array) => boolean;
  readonly #predictBodyRows: (bytes: Uint8Array, shape: number, maxRows: number) => Float64Array | null;
  readonly #predictInto: (input: InputMatrix, nRows: number, out: Float64Array) => void;
  #batchIn = new Float64Array(0);
  #batchOut = new Float64Array(0);

  /** @internal Use loadModel() / loadModelFromString(). */
  constructor(handle: NativeModel) {
    const info = handle.info();
    this.#native = handle;
    this.name = info.name;
    this.task = info.task;
    this.inputs = Object.freeze(
      info.inputs.map((input) => Object.freeze({ ...input, ...(input.vocabulary ? { vocabulary: Object.freeze(input.vocabulary) } : {}) })),
    );
    const classes = info.task === 'classification' ? info.classesJson.map((text) => JSON.parse(text) as Label) : undefined;
    this.classes = classes ? Object.freeze(classes) : null;
    this.hasProbabilities = info.hasProbabilities;
    this.nDecision = info.nDecision;
    this.outputWidth = info.outputWidth;
    this.metadata = Object.freeze(JSON.parse(info.metadata) as Record<string, unknown>);
    this.verification = Object.freeze({ ...info.verification });

    this.#encoder = new RowEncoder(info.inputs);
    this.#decoder = new OutputDecoder(info, classes);
    this.#decodeRow = this.#decoder.decodeRow;
    this.#row = new Float64Array(this.#encoder.width);
    this.#out = new Float64Array(this.outputWidth);
    this.#predictRow = handle.bindRow(this.#row, this.#out);
    this.#predictBody = handle.bindBody(this.#row, this.#out);
    this.#predictBodyRows = handle.bindBodyRows();
    this.#predictInto = handle.bindMatrix();
  }

  /** Predicts one record. Errors carry `feature` and `row: 0`. */
  predict(record: FeatureRecord): Prediction {
    if (!this.#encoder.encodeFast(record, this.#row, 0)) this.#encoder.encode(record, this.#row, 0);
    this.#predictRow();
    return this.#decodeRow(this.#out, 0);
  }

  /**
   * @internal The server's one-record body path: the JSON text of one record, as bytes, scanned
   * and predicted natively in one call (kiln/record_scanner.h). Undefined when the body is not the
   * plain case (escapes, other types, unknown or repeated keys, invalid JSON, ...) or the engine
   * refuses the row: the caller then parses it with JSON.parse and calls predict(), which gives
   * the same prediction or the exact error. A prediction returned here equals predict()'s.
   */
  predictBody(bytes: Uint8Array): Prediction | undefined {
    return this.#predictBody(bytes) ? this.#decodeRow(this.#out, 0) : undefined;
  }

  /**
   * @internal The same for a body of several records: a JSON array of records, or (`instances`)
   * KServe V1's {"instances": [...], "signature_name"?: string}; one to `maxRows` records, else
   * undefined, as for anything predictBody() declines. Equals predictBatch(records).
   */
  predictBodyRows(bytes: Uint8Array, instances: boolean, maxRows: number): Prediction[] | undefined {
    const out = this.#predictBodyRows(bytes, instances ? 1 : 0, maxRows);
    return out === null ? undefined : this.#decoder.decodeAll(out, out.length / this.outputWidth);
  }

  /** Predicts many records in one engine call. Errors carry `feature` and the record's index as `row`. */
  predictBatch(records: readonly FeatureRecord[]): Prediction[] {
    const n = recordCount(records, 'predictBatch');
    const input = this.#scratchIn(n * this.#encoder.width);
    const out = this.#scratchOut(n * this.outputWidth);
    this.#encodeAll(records, n, input);
    this.#predictInto(input, n, out);
    return this.#decoder.decodeAll(out, n);
  }

  async predictBatchAsync(records: readonly FeatureRecord[]): Promise<Prediction[]> {
    const n = recordCount(records, 'predictBatchAsync');
    const input = new Float64Array(n * this.#encoder.width);
    this.#encodeAll(records, n, input);
    const out = await this.#native.predictAsync(input, n, new Float64Array(n * this.outputWidth));
    return this.#decoder.decodeAll(out, n);
  }

  /**
   * Predicts a row-major matrix of `nRows` x `inputs.length` values (models whose inputs are all
   * numeric; NaN = missing). The data is read in place, without a copy. `nRows` defaults to
   * data.length / inputs.length.
   */
  predictMatrix(data: InputMatrix, nRows?: number): Prediction[] {
    const n = this.#matrixRows(data, nRows, 'predictMatrix');
    return this.#decoder.decodeAll(this.predictMatrixRaw(data, n), n);
  }

  async predictMatrixAsync(data: InputMatrix, nRows?: number): Promise<Prediction[]> {
    const n = this.#matrixRows(data, nRows, 'predictMatrixAsync');
    return this.#decoder.decodeAll(await this.predictMatrixRawAsync(data, n), n);
  }

  /**
   * The fastest path: the engine's output rows as they are, nRows x outputWidth doubles:
   * classification [label index, probabilities..., decision...], regression [value].
   * Pass `out` to reuse a buffer (at least nRows * outputWidth long).
   */
  predictMatrixRaw(data: InputMatrix, nRows?: number, out?: Float64Array): Float64Array {
    const n = this.#matrixRows(data, nRows, 'predictMatrixRaw');
    const target = this.#outBuffer(out, n, 'predictMatrixRaw');
    this.#predictInto(data, n, target);
    return target;
  }

  predictMatrixRawAsync(data: InputMatrix, nRows?: number, out?: Float64Array): Promise<Float64Array> {
    try {
      const n = this.#matrixRows(data, nRows, 'predictMatrixRawAsync');
      return this.#native.predictAsync(data, n, this.#outBuffer(out, n, 'predictMatrixRawAsync'));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #encodeAll(records: readonly FeatureRecord[], n: number, input: Float64Array): void {
    const encoder = this.#encoder;
    const width = encoder.width;
    for (let row = 0; row < n; row++) {
      if (!encoder.encodeFast(records[row], input, row * width)) encoder.encode(records[row], input, row);
    }
  }

  #matrixRows(data: InputMatrix, nRows: number | undefined, method: string): number {
    if (!this.#encoder.allNumeric) {
      throw argumentError(`${method}: model ${this.name} has string category inputs; use predict()/predictBatch() with records`);
    }
    if (!(data instanceof Float64Array) && !(data instanceof Float32Array)) {
      throw argumentError(`${method}(data, nRows): data must be a Float64Array or Float32Array`);
    }
    const width = this.#encoder.width;
    if (nRows === undefined) {
      if (data.length % width !== 0) {
        throw new KilnError('KILN_INPUT_SHAPE', `${method}: data holds ${data.length} values, not a whole number of rows of ${width} inputs`);
      }
      return data.length / width;
    }
    if (!Number.isSafeInteger(nRows) || nRows < 0) throw argumentError(`${method}(data, nRows): nRows must be a non-negative integer`);
    if (data.length !== nRows * width) {
      throw new KilnError('KILN_INPUT_SHAPE', `${method}: data holds ${data.length} values; ${nRows} rows of ${width} inputs need ${nRows * width}`);
    }
    return nRows;
  }

  #outBuffer(out: Float64Array | undefined, nRows: number, method: string): Float64Array {
    const need = nRows * this.outputWidth;
    if (out === undefined) return new Float64Array(need);
    if (!(out instanceof Float64Array)) throw argumentError(`${method}: out must be a Float64Array`);
    if (out.length < need) throw new KilnError('KILN_INPUT_SHAPE', `${method}: out holds ${out.length} values; ${nRows} rows need ${need}`);
    return out;
  }

  #scratchIn(size: number): Float64Array {
    if (size > SCRATCH_MAX_DOUBLES) return new Float64Array(size);
    if (this.#batchIn.length < size) this.#batchIn = new Float64Array(Math.max(size, 2 * this.#batchIn.length));
    return this.#batchIn;
  }

  #scratchOut(size: number): Float64Array {
    if (size > SCRATCH_MAX_DOUBLES) return new Float64Array(size);
    if (this.#batchOut.length < size) this.#batchOut = new Float64Array(Math.max(size, 2 * this.#batchOut.length));
    return this.#batchOut;
  }
}

function recordCount(records: readonly FeatureRecord[], method: string): number {
  if (!Array.isArray(records)) throw argumentError(`${method}(records): records must be an array of objects`);
  return records.length;
}

function argumentError(message: string): KilnError {
  return new KilnError('KILN_ARGUMENT', message);
}
