// Public types of the Kiln API.

/** A class label, typed as in the model (sklearn's classes_ are strings or numbers). */
export type Label = string | number;

export interface ClassificationPrediction {
  label: Label;
  /** Class probabilities in the order of `model.classes` (models that have them). */
  probabilities?: number[];
  /** Decision values (raw scores): one for binary models, one per class otherwise. */
  decision?: number[];
}

export interface RegressionPrediction {
  value: number;
}

export type Prediction = ClassificationPrediction | RegressionPrediction;

export type Task = 'classification' | 'regression';

export interface InputInfo {
  readonly name: string;
  /** 'number': a finite number; 'category': a category spelled as `dtype`. */
  readonly type: 'number' | 'category';
  readonly dtype?: 'string' | 'number';
  /** Whether null (or an absent key) is accepted. */
  readonly nullable: boolean;
  /** String categories: every string some step of the model knows for this input. */
  readonly vocabulary?: readonly string[];
}

export interface VerificationInfo {
  readonly rowsChecked: number;
  readonly maxAbsError: number;
}
