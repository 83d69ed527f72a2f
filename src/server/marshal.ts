// Request and response marshalling for one model, precomputed once per loaded model version
// (a ModelPlan): V2 tensors in, one engine batch, V2 tensors out.
//
// Paths (one engine call per request, always):
//  * all-numeric model: the V2 tensors are written straight into one row-major Float64Array
//    (or Float32Array for one FP32 matrix tensor) and handed to predictMatrixRaw, whose raw
//    output rows are sliced into the output tensors without building per-row objects;
//  * models with string categories: the tensors become records for predictBatch.
// V1 and the friendly route always hand records to predictBatch (the model's own encoder checks
// them, naming feature and row).

import { KilnError } from '../errors.js';
import type { FeatureRecord } from '../encode.js';
import type { Model } from '../model.js';
import type { ClassificationPrediction, Label, Prediction, RegressionPrediction } from '../types.js';
import { v2ResponseHead } from './response-text.js';

/** Name of the single row-major [n, n_inputs] tensor accepted by all-numeric models. */
export const MATRIX_INPUT_NAME = 'input';

const NUMERIC_DATATYPES = new Set(['FP16', 'FP32', 'FP64', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64']);
const INTEGER_DATATYPES = new Set(['INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64']);
export const V2_DATATYPES = ['BOOL', ...NUMERIC_DATATYPES, 'BYTES'] as const;

export interface V2Tensor {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Record<string, unknown>;
  data: unknown[];
}

export interface V2InferRequest {
  id?: string;
  parameters?: Record<string, unknown>;
  inputs: V2Tensor[];
  outputs?: { name: string; parameters?: Record<string, unknown> }[];
}

export interface V2OutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: (number | string)[];
}

export interface V2MetadataTensor {
  name: string;
  datatype: string;
  shape: number[];
}

/** A batch ready for one engine call. */
export type Batch =
  | { readonly kind: 'matrix'; readonly data: Float64Array | Float32Array; readonly rows: number }
  | { readonly kind: 'records'; readonly records: FeatureRecord[]; readonly rows: number };

/** The engine's answer for a batch: raw output rows (matrix) or prediction objects (records). */
export type BatchResult =
  | { readonly kind: 'raw'; readonly out: Float64Array; readonly rows: number }
  | { readonly kind: 'predictions'; readonly predictions: Prediction[]; readonly rows: number };

const enum Kind {
  Number,
  StringCategory,
  NumberCategory,
}

function invalid(message: string): KilnError {
  return new KilnError('KILN_REQUEST_INVALID', message);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  return `a ${typeof value}`;
}

/**
 * Flattens tensor data (flat or nested, row-major) into `out`, refusing nesting deeper than the
 * shape. Returns the number of elements written; `out` is only written up to `limit`.
 */
function flatten(data: unknown[], depth: number, tensor: string, out: unknown[], limit: number): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Array.isArray(v)) {
      if (depth <= 1) throw invalid(`input tensor ${JSON.stringify(tensor)}: data is nested deeper than its shape`);
      flatten(v, depth - 1, tensor, out, limit);
    } else {
      out.push(v);
    }
    if (out.length > limit) throw invalid(`input tensor ${JSON.stringify(tensor)}: data holds more elements than its shape`);
  }
}

function isFlat(data: unknown[]): boolean {
  for (let i = 0; i < data.length; i++) if (typeof data[i] === 'object' && data[i] !== null) return false;
  return true;
}

export class ModelPlan {
  readonly name: string;
  readonly version: string;
  readonly width: number;
  readonly allNumeric: boolean;
  readonly labelDatatype: 'BYTES' | 'INT64' | 'FP64' | null;
  readonly nClasses: number;
  readonly nProbabilities: number;
  readonly nDecision: number;
  readonly outputWidth: number;
  readonly outputNames: readonly string[];
  /** Start of the V2 infer answer's text: `{"model_name":...,"model_version":...` (response-text.ts). */
  readonly v2Head: string;
  /** The V2 model metadata response body (without `versions`, which change). */
  readonly metadataInputs: readonly V2MetadataTensor[];
  readonly metadataOutputs: readonly V2MetadataTensor[];
  readonly #names: readonly string[];
  readonly #kinds: readonly Kind[];
  readonly #nullable: readonly boolean[];
  readonly #index: ReadonlyMap<string, number>;
  readonly #classes: readonly Label[];

  constructor(name: string, version: string, model: Model) {
    this.name = name;
    this.version = version;
    this.width = model.inputs.length;
    this.#names = model.inputs.map((i) => i.name);
    this.#kinds = model.inputs.map((i) => (i.type === 'number' ? Kind.Number : i.dtype === 'string' ? Kind.StringCategory : Kind.NumberCategory));
    this.#nullable = model.inputs.map((i) => i.nullable);
    this.#index = new Map(this.#names.map((n, i) => [n, i]));
    this.allNumeric = this.#kinds.every((k) => k !== Kind.StringCategory);
    this.#classes = model.classes ?? [];
    this.nClasses = this.#classes.length;
    this.nProbabilities = model.hasProbabilities ? this.nClasses : 0;
    this.nDecision = model.nDecision;
    this.outputWidth = model.outputWidth;
    if (model.task === 'classification') {
      const classes = this.#classes;
      this.labelDatatype = classes.every((c) => typeof c === 'string')
        ? 'BYTES'
        : classes.every((c) => typeof c === 'number' && Number.isSafeInteger(c))
          ? 'INT64'
          : classes.every((c) => typeof c === 'number')
            ? 'FP64'
            : 'BYTES';
    } else {
      this.labelDatatype = null;
    }
    this.metadataInputs = Object.freeze(
      model.inputs.map((i) => Object.freeze({ name: i.name, datatype: i.type === 'category' && i.dtype === 'string' ? 'BYTES' : 'FP64', shape: [-1] })),
    );
    const outputs: V2MetadataTensor[] = [];
    if (this.labelDatatype !== null) {
      outputs.push({ name: 'label', datatype: this.labelDatatype, shape: [-1] });
      if (this.nProbabilities > 0) outputs.push({ name: 'probabilities', datatype: 'FP64', shape: [-1, this.nProbabilities] });
      if (this.nDecision > 0) outputs.push({ name: 'decision', datatype: 'FP64', shape: this.nDecision === 1 ? [-1] : [-1, this.nDecision] });
    } else {
      outputs.push({ name: 'value', datatype: 'FP64', shape: [-1] });
    }
    this.metadataOutputs = Object.freeze(outputs.map((o) => Object.freeze(o)));
    this.outputNames = Object.freeze(outputs.map((o) => o.name));
    this.v2Head = v2ResponseHead(name, version);
  }

  /** Turns a schema-valid V2 request body into one batch. Throws 4xx KilnErrors. */
  fromV2(request: V2InferRequest, maxRows: number): Batch {
    const tensors = request.inputs;
    const first = tensors[0] as V2Tensor;
    if (tensors.length === 1 && first.name === MATRIX_INPUT_NAME && !this.#index.has(MATRIX_INPUT_NAME)) {
      return this.#fromMatrixTensor(first, maxRows);
    }
    let rows = -1;
    const columns: (unknown[] | undefined)[] = new Array(this.width);
    const dtypes: (string | undefined)[] = new Array(this.width);
    for (const tensor of tensors) {
      const i = this.#index.get(tensor.name);
      if (i === undefined) {
        const hint = tensor.name === MATRIX_INPUT_NAME ? ` (a single "${MATRIX_INPUT_NAME}" tensor of shape [n, ${this.width}] is accepted on its own, for models whose inputs are all numeric)` : '';
        throw new KilnError('KILN_INPUT_UNKNOWN_FEATURE', `unknown input tensor ${JSON.stringify(tensor.name)}: model ${this.name} has inputs ${this.#list()}${hint}`, {
          feature: tensor.name,
        });
      }
      if (columns[i] !== undefined) throw invalid(`input tensor ${JSON.stringify(tensor.name)} is given twice`);
      const shape = tensor.shape;
      if (shape.length === 0 || shape.length > 2 || (shape.length === 2 && shape[1] !== 1)) {
        throw new KilnError('KILN_INPUT_SHAPE', `input tensor ${JSON.stringify(tensor.name)} has shape [${shape.join(', ')}]; expected [n] or [n, 1]`, { feature: tensor.name });
      }
      const n = shape[0] as number;
      if (rows === -1) rows = n;
      else if (n !== rows) {
        throw new KilnError('KILN_INPUT_SHAPE', `input tensor ${JSON.stringify(tensor.name)} has ${n} rows; the other input tensors have ${rows}`, { feature: tensor.name });
      }
      this.#checkRows(rows, maxRows);
      const kind = this.#kinds[i] as Kind;
      if (kind === Kind.StringCategory ? tensor.datatype !== 'BYTES' : !NUMERIC_DATATYPES.has(tensor.datatype)) {
        throw new KilnError(
          'KILN_INPUT_TYPE',
          `input tensor ${JSON.stringify(tensor.name)} has datatype ${tensor.datatype}; expected ${kind === Kind.StringCategory ? 'BYTES' : 'a numeric datatype (FP32, FP64, INT64, ...)'}`,
          { feature: tensor.name },
        );
      }
      columns[i] = this.#elements(tensor, n);
      dtypes[i] = tensor.datatype;
    }
    for (let i = 0; i < this.width; i++) {
      if (columns[i] === undefined && !this.#nullable[i]) {
        const name = this.#names[i] as string;
        throw new KilnError('KILN_INPUT_MISSING', `input tensor ${JSON.stringify(name)} is missing (model ${this.name} needs ${this.#list()})`, { feature: name });
      }
    }
    if (rows <= 0) throw invalid('the request has no rows');

    if (this.allNumeric) {
      const data = new Float64Array(rows * this.width);
      for (let i = 0; i < this.width; i++) {
        const column = columns[i];
        if (column === undefined) {
          for (let r = 0; r < rows; r++) data[r * this.width + i] = Number.NaN;
        } else {
          this.#numericColumn(i, column, dtypes[i] as string, data, rows);
        }
      }
      return { kind: 'matrix', data, rows };
    }
    const records: Record<string, unknown>[] = new Array(rows);
    for (let r = 0; r < rows; r++) records[r] = {};
    for (let i = 0; i < this.width; i++) {
      const column = columns[i];
      if (column === undefined) continue;
      const name = this.#names[i] as string;
      if (this.#kinds[i] === Kind.StringCategory) {
        for (let r = 0; r < rows; r++) (records[r] as Record<string, unknown>)[name] = column[r];
      } else {
        // Checked and converted here so FP32 data is rounded and datatypes are enforced.
        const values = new Float64Array(rows);
        this.#numericColumn(i, column, dtypes[i] as string, values, rows, 1, 0);
        for (let r = 0; r < rows; r++) {
          const v = values[r] as number;
          (records[r] as Record<string, unknown>)[name] = Number.isNaN(v) ? null : v;
        }
      }
    }
    return { kind: 'records', records, rows };
  }

  #list(): string {
    const names = this.#names.slice(0, 8).map((n) => JSON.stringify(n));
    return `[${names.join(', ')}${this.width > 8 ? `, ... (${this.width} in all)` : ''}]`;
  }

  #checkRows(rows: number, maxRows: number): void {
    if (rows > maxRows) throw new KilnError('KILN_REQUEST_LIMIT', `the request has ${rows} rows; this server takes at most ${maxRows} per request`);
  }

  #elements(tensor: V2Tensor, expected: number): unknown[] {
    let data = tensor.data;
    if (!isFlat(data)) {
      const flat: unknown[] = [];
      flatten(data, tensor.shape.length, tensor.name, flat, expected);
      data = flat;
    }
    if (data.length !== expected) {
      throw new KilnError(
        'KILN_INPUT_SHAPE',
        `input tensor ${JSON.stringify(tensor.name)}: shape [${tensor.shape.join(', ')}] needs ${expected} elements, data holds ${data.length}`,
        { feature: tensor.name },
      );
    }
    return data;
  }

  /** Writes input `i`'s values into `out[r * stride + offset]`, checking each one. */
  #numericColumn(i: number, column: unknown[], datatype: string, out: Float64Array, rows: number, stride = this.width, offset = i): void {
    const name = this.#names[i] as string;
    const nullable = this.#nullable[i] as boolean;
    const fp32 = datatype === 'FP32' || datatype === 'FP16';
    const integer = INTEGER_DATATYPES.has(datatype);
    for (let r = 0; r < rows; r++) {
      const raw = column[r];
      if (typeof raw !== 'number') {
        const v = raw;
        if (v === null && nullable) {
          out[r * stride + offset] = Number.NaN;
          continue;
        }
        if (v === null) {
          throw new KilnError('KILN_INPUT_MISSING', `row ${r}: input ${JSON.stringify(name)} is null and the model does not accept null for it`, { feature: name, row: r });
        }
        throw new KilnError('KILN_INPUT_TYPE', `row ${r}: input ${JSON.stringify(name)} must be a number${nullable ? ' or null' : ''}, got ${describe(v)}`, { feature: name, row: r });
      }
      const v = fp32 ? Math.fround(raw) : raw;
      if (!Number.isFinite(v)) {
        throw new KilnError('KILN_INPUT_NOT_FINITE', `row ${r}: input ${JSON.stringify(name)} is not a finite ${datatype} number`, { feature: name, row: r });
      }
      if (integer && !Number.isInteger(v)) {
        throw new KilnError('KILN_INPUT_TYPE', `row ${r}: input ${JSON.stringify(name)} holds ${v} in a ${datatype} tensor`, { feature: name, row: r });
      }
      out[r * stride + offset] = v;
    }
  }

  #fromMatrixTensor(tensor: V2Tensor, maxRows: number): Batch {
    if (!this.allNumeric) {
      throw new KilnError('KILN_INPUT_SHAPE', `model ${this.name} has string category inputs; send one tensor per input (${this.#list()})`);
    }
    const shape = tensor.shape;
    if (shape.length !== 2 || shape[1] !== this.width) {
      throw new KilnError('KILN_INPUT_SHAPE', `input tensor "${MATRIX_INPUT_NAME}" has shape [${shape.join(', ')}]; expected [n, ${this.width}] (rows x model inputs)`);
    }
    if (tensor.datatype !== 'FP32' && tensor.datatype !== 'FP64') {
      throw new KilnError('KILN_INPUT_TYPE', `input tensor "${MATRIX_INPUT_NAME}" has datatype ${tensor.datatype}; expected FP32 or FP64`);
    }
    const rows = shape[0] as number;
    this.#checkRows(rows, maxRows);
    if (rows <= 0) throw invalid('the request has no rows');
    const values = this.#elements(tensor, rows * this.width);
    const data = tensor.datatype === 'FP32' ? new Float32Array(values.length) : new Float64Array(values.length);
    const width = this.width;
    for (let k = 0; k < values.length; k++) {
      const v = values[k];
      if (typeof v === 'number') {
        data[k] = v;
        if (Number.isFinite(data[k] as number)) continue;
      }
      const i = k % width;
      const r = (k - i) / width;
      const name = this.#names[i] as string;
      if (v === null) {
        if (this.#nullable[i]) {
          data[k] = Number.NaN;
          continue;
        }
        throw new KilnError('KILN_INPUT_MISSING', `row ${r}: input ${JSON.stringify(name)} (column ${i}) is null and the model does not accept null for it`, { feature: name, row: r });
      }
      if (typeof v !== 'number') {
        throw new KilnError('KILN_INPUT_TYPE', `row ${r}: input ${JSON.stringify(name)} (column ${i}) must be a number, got ${describe(v)}`, { feature: name, row: r });
      }
      throw new KilnError('KILN_INPUT_NOT_FINITE', `row ${r}: input ${JSON.stringify(name)} (column ${i}) is not a finite ${tensor.datatype} number`, { feature: name, row: r });
    }
    return { kind: 'matrix', data, rows };
  }

  /** Which outputs a request wants (all when it names none). Throws on an unknown name. */
  requestedOutputs(request: V2InferRequest): readonly string[] {
    if (request.outputs === undefined) return this.outputNames;
    const wanted: string[] = [];
    for (const o of request.outputs) {
      if (!this.outputNames.includes(o.name)) {
        throw invalid(`unknown output ${JSON.stringify(o.name)}: model ${this.name} has outputs ${JSON.stringify(this.outputNames)}`);
      }
      if (!wanted.includes(o.name)) wanted.push(o.name);
    }
    return wanted;
  }

  /** The V2 output tensors of a batch result. */
  toV2Outputs(result: BatchResult, wanted: readonly string[]): V2OutputTensor[] {
    const n = result.rows;
    const outputs: V2OutputTensor[] = [];
    for (const name of wanted) {
      if (name === 'label') outputs.push({ name, datatype: this.labelDatatype as string, shape: [n], data: this.#labels(result) });
      else if (name === 'probabilities') outputs.push({ name, datatype: 'FP64', shape: [n, this.nProbabilities], data: this.#block(result, 1, this.nProbabilities, 'probabilities') });
      else if (name === 'decision') {
        outputs.push({
          name,
          datatype: 'FP64',
          shape: this.nDecision === 1 ? [n] : [n, this.nDecision],
          data: this.#block(result, 1 + this.nProbabilities, this.nDecision, 'decision'),
        });
      } else outputs.push({ name, datatype: 'FP64', shape: [n], data: this.#block(result, 0, 1, 'value') });
    }
    return outputs;
  }

  #labels(result: BatchResult): (number | string)[] {
    const n = result.rows;
    const data = new Array<number | string>(n);
    const bytes = this.labelDatatype === 'BYTES';
    if (result.kind === 'raw') {
      const out = result.out;
      const w = this.outputWidth;
      for (let r = 0; r < n; r++) {
        const label = this.#classes[out[r * w] as number] as Label;
        data[r] = bytes ? String(label) : label;
      }
    } else {
      for (let r = 0; r < n; r++) {
        const label = (result.predictions[r] as ClassificationPrediction).label;
        data[r] = bytes ? String(label) : label;
      }
    }
    return data;
  }

  #block(result: BatchResult, offset: number, count: number, field: 'probabilities' | 'decision' | 'value'): number[] {
    const n = result.rows;
    const data = new Array<number>(n * count);
    if (result.kind === 'raw') {
      const out = result.out;
      const w = this.outputWidth;
      for (let r = 0; r < n; r++) for (let k = 0; k < count; k++) data[r * count + k] = out[r * w + offset + k] as number;
    } else if (field === 'value') {
      for (let r = 0; r < n; r++) data[r] = (result.predictions[r] as RegressionPrediction).value;
    } else {
      for (let r = 0; r < n; r++) {
        const values = (result.predictions[r] as ClassificationPrediction)[field] as number[];
        for (let k = 0; k < count; k++) data[r * count + k] = values[k] as number;
      }
    }
    return data;
  }
}
