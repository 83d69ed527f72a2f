// Kiln: serve exported scikit-learn pipelines from Node.js.
export { loadModel, loadModelAsync, loadModelFromString, Model } from './model.js';
export { KilnError, ERROR_CODES, isKilnError } from './errors.js';
export type { ErrorCategory, ErrorSpec, KilnErrorCode, KilnErrorDetails } from './errors.js';
export type { FeatureRecord } from './encode.js';
export type { InputMatrix } from './native.js';
export type {
  ClassificationPrediction,
  InputInfo,
  Label,
  Prediction,
  RegressionPrediction,
  Task,
  VerificationInfo,
} from './types.js';
