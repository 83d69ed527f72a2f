// Turns records (objects of named features) into the engine's slot-encoded row matrix.
//
// Slot encoding (kiln/model.h): number inputs carry the number; string categories carry their
// vocabulary index, -1 for a string the model has never seen (the engine then applies the
// encoder's handle_unknown), number categories carry the number; a missing value is NaN.
// Everything the engine would only report vaguely is checked here. Errors carry `feature` and `row`
// as properties; messages do not repeat the row, so a caller batching rows can renumber them.

import { KilnError } from './errors.js';
import type { NativeInputInfo } from './native.js';

/** One row of named features. `null` (or an absent key) is a missing value. */
export type FeatureRecord = Readonly<Record<string, unknown>>;

const UNKNOWN_CATEGORY = -1;

const enum SlotKind {
  Number,
  StringCategory,
  NumberCategory,
}

interface Slot {
  readonly name: string;
  readonly kind: SlotKind;
  readonly nullable: boolean;
  readonly codes: ReadonlyMap<string, number> | undefined;
}

// Same quoting as the engine's messages: feature 'x2' is required.
const quote = (name: string): string => `'${name}'`;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  return `a ${typeof value}`;
}

export class RowEncoder {
  readonly width: number;
  readonly allNumeric: boolean;
  readonly #slots: readonly Slot[];
  readonly #index: ReadonlyMap<string, number>;
  // seen[i] === stamp when input i was present in the row being encoded; bumping the stamp
  // clears it for the next row without a fill.
  readonly #seen: Uint32Array;
  #stamp = 0;
  /**
   * The common-record fast path (see compileFastEncoder): writes `record` at out[base ...]; false:
   * use encode() for the verdict.
   */
  readonly encodeFast: (record: unknown, out: Float64Array, base: number) => boolean;

  constructor(inputs: readonly NativeInputInfo[]) {
    this.#slots = inputs.map((input) => {
      const kind =
        input.type === 'number'
          ? SlotKind.Number
          : input.dtype === 'string'
            ? SlotKind.StringCategory
            : SlotKind.NumberCategory;
      const codes = kind === SlotKind.StringCategory ? new Map((input.vocabulary ?? []).map((v, i) => [v, i])) : undefined;
      return { name: input.name, kind, nullable: input.nullable, codes };
    });
    this.#index = new Map(inputs.map((input, i) => [input.name, i]));
    this.width = inputs.length;
    this.allNumeric = this.#slots.every((slot) => slot.kind !== SlotKind.StringCategory);
    this.#seen = new Uint32Array(inputs.length);
    this.encodeFast = compileFastEncoder(this.#slots);
  }

  /** Writes `record` as row `row` of `out` (width doubles from row * width). */
  encode(record: unknown, out: Float64Array, row: number): void {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new KilnError('KILN_INPUT_TYPE', `expected an object of named features, got ${describe(record)}`, { row });
    }
    if (++this.#stamp === 0xffffffff) {
      this.#seen.fill(0);
      this.#stamp = 1;
    }
    const stamp = this.#stamp;
    const base = row * this.width;
    const values = record as Record<string, unknown>;
    for (const key in values) {
      const i = this.#index.get(key);
      if (i === undefined) {
        throw new KilnError('KILN_INPUT_UNKNOWN_FEATURE', `unknown feature ${quote(key)}`, { feature: key, row });
      }
      this.#seen[i] = stamp;
      out[base + i] = this.#encodeValue(this.#slots[i] as Slot, values[key], row);
    }
    for (let i = 0; i < this.width; i++) {
      if (this.#seen[i] !== stamp) out[base + i] = this.#missing(this.#slots[i] as Slot, row);
    }
  }

  #encodeValue(slot: Slot, value: unknown, row: number): number {
    if (value === null || value === undefined) return this.#missing(slot, row);
    if (slot.kind === SlotKind.StringCategory) {
      if (typeof value !== 'string') throw this.#typeError(slot, 'a string', value, row);
      return (slot.codes as ReadonlyMap<string, number>).get(value) ?? UNKNOWN_CATEGORY;
    }
    if (typeof value !== 'number') throw this.#typeError(slot, 'a number', value, row);
    if (!Number.isFinite(value)) {
      throw new KilnError('KILN_INPUT_NOT_FINITE', `feature ${quote(slot.name)} is ${value}; expected a finite number${slot.nullable ? ' or null' : ''}`, {
        feature: slot.name,
        row,
      });
    }
    return value;
  }

  #missing(slot: Slot, row: number): number {
    if (slot.nullable) return Number.NaN;
    throw new KilnError('KILN_INPUT_MISSING', `feature ${quote(slot.name)} is required`, {
      feature: slot.name,
      row,
    });
  }

  #typeError(slot: Slot, expected: string, value: unknown, row: number): KilnError {
    return new KilnError('KILN_INPUT_TYPE', `feature ${quote(slot.name)} must be ${expected}${slot.nullable ? ' or null' : ''}, got ${describe(value)}`, {
      feature: slot.name,
      row,
    });
  }
}

/**
 * Compiles, per model, the encoder of the common record: a plain object holding exactly the
 * model's features, each a finite number (or a string for a string category, or null where
 * nullable). The generated code reads every feature by its literal name, so a stream of records
 * of one shape stays on V8's monomorphic inline caches (no Map lookup per key, no per-key loop);
 * counting the enumerable keys proves there is no unknown one. Anything else returns false and
 * the caller runs RowEncoder.encode, which produces the exact answer or error; so this changes
 * speed, never results. Names enter the code only through JSON.stringify (a valid string literal).
 */
function compileFastEncoder(slots: readonly Slot[]): (record: unknown, out: Float64Array, base: number) => boolean {
  const lines = [
    "if (typeof record !== 'object' || record === null || Array.isArray(record)) return false;",
    'let keys = 0;',
    'for (const key in record) keys++;',
    `if (keys !== ${slots.length}) return false;`,
    'let v;',
  ];
  slots.forEach((slot, i) => {
    lines.push(`v = record[${JSON.stringify(slot.name)}];`);
    const missing = slot.nullable ? `else if (v === null) out[base + ${i}] = NaN;` : '';
    if (slot.kind === SlotKind.StringCategory) {
      lines.push(`if (typeof v === 'string') out[base + ${i}] = codes[${i}].get(v) ?? ${UNKNOWN_CATEGORY}; ${missing} else return false;`);
    } else {
      // v - v === 0 exactly when v is finite.
      lines.push(`if (typeof v === 'number' && v - v === 0) out[base + ${i}] = v; ${missing} else return false;`);
    }
  });
  lines.push('return true;');
  const codes = slots.map((slot) => slot.codes);
  const factory = new Function('codes', `return function encodeFast(record, out, base) {\n${lines.join('\n')}\n};`) as (
    codes: readonly (ReadonlyMap<string, number> | undefined)[],
  ) => (record: unknown, out: Float64Array, base: number) => boolean;
  return factory(codes);
}
