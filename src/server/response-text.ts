// JSON text of the predict routes' answers, written field by field: the payloads have a few fixed
// shapes (a prediction, V1's {"predictions"}, V2's tensors), so the text is a template filled in
// with the values, with no generic JSON pass over objects built only to be serialised. The text
// is byte for byte what JSON.stringify gives for the same payload (test/server-response-text.test.mjs):
// same key order (the order prediction objects are built in), numbers in ECMAScript's shortest
// round-trip form (Number#toString, which JSON.stringify also uses; -0 is "0"), non-finite
// numbers as null, strings through JSON.stringify's own escaping.

import type { ClassificationPrediction, Prediction, RegressionPrediction } from '../types.js';
import type { V2OutputTensor } from './marshal.js';

/** A number as JSON.stringify writes it. */
export function numberText(x: number): string {
  return Number.isFinite(x) ? `${x}` : 'null';
}

/** A label or a V2 data element (string or number; anything else as JSON.stringify writes it in an array). */
function valueText(v: unknown): string {
  return typeof v === 'number' ? numberText(v) : (JSON.stringify(v) ?? 'null');
}

function numbersText(values: readonly number[]): string {
  const n = values.length;
  if (n === 0) return '[]';
  let s = `[${numberText(values[0] as number)}`;
  for (let i = 1; i < n; i++) s += `,${numberText(values[i] as number)}`;
  return `${s}]`;
}

function valuesText(values: readonly unknown[]): string {
  const n = values.length;
  if (n === 0) return '[]';
  let s = `[${valueText(values[0])}`;
  for (let i = 1; i < n; i++) s += `,${valueText(values[i])}`;
  return `${s}]`;
}

/** One prediction of Model.predict: {"label", "probabilities"?, "decision"?} or {"value"}. */
export function predictionText(p: Prediction): string {
  const c = p as Partial<ClassificationPrediction>;
  if (c.label === undefined) {
    const value = (p as Partial<RegressionPrediction>).value;
    // Not a shape Model.predict makes: the generic pass keeps the answer exact anyway.
    return value === undefined || Object.keys(p).length !== 1 ? (JSON.stringify(p) as string) : `{"value":${numberText(value)}}`;
  }
  let s = `{"label":${valueText(c.label)}`;
  if (c.probabilities !== undefined) s += `,"probabilities":${numbersText(c.probabilities)}`;
  if (c.decision !== undefined) s += `,"decision":${numbersText(c.decision)}`;
  return `${s}}`;
}

/** An array of predictions (the friendly route's answer to an array of records). */
export function predictionsText(predictions: readonly Prediction[]): string {
  const n = predictions.length;
  if (n === 0) return '[]';
  let s = `[${predictionText(predictions[0] as Prediction)}`;
  for (let i = 1; i < n; i++) s += `,${predictionText(predictions[i] as Prediction)}`;
  return `${s}]`;
}

/** KServe V1's answer: {"predictions": [...]}. */
export function v1ResponseText(predictions: readonly Prediction[]): string {
  return `{"predictions":${predictionsText(predictions)}}`;
}

/**
 * The V2 infer answer: {"model_name", "model_version", "id"?, "outputs"}. `head` is the constant
 * start, `{"model_name":...,"model_version":...` (v2ResponseHead, built once per model version).
 */
export function v2ResponseText(head: string, id: string | undefined, outputs: readonly V2OutputTensor[]): string {
  let s = id === undefined ? `${head},"outputs":[` : `${head},"id":${JSON.stringify(id)},"outputs":[`;
  for (let i = 0; i < outputs.length; i++) {
    const o = outputs[i] as V2OutputTensor;
    if (i > 0) s += ',';
    s += `{"name":${JSON.stringify(o.name)},"datatype":${JSON.stringify(o.datatype)},"shape":${numbersText(o.shape)},"data":${valuesText(o.data)}}`;
  }
  return `${s}]}`;
}

export function v2ResponseHead(name: string, version: string): string {
  return `{"model_name":${JSON.stringify(name)},"model_version":${JSON.stringify(version)}`;
}
