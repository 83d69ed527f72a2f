// The error catalogue. Every error Kiln raises is a KilnError with one of these stable codes;
// codes are never reused or renamed. `status` is the HTTP status a server should answer with.

export type ErrorCategory = 'model' | 'input' | 'argument' | 'internal' | 'service';

export interface ErrorSpec {
  readonly category: ErrorCategory;
  readonly status: number;
  readonly description: string;
}

export const ERROR_CODES = {
  // Loading a model (raised by the engine).
  KILN_MODEL_IO: { category: 'model', status: 500, description: 'the model file cannot be read' },
  KILN_MODEL_PARSE: { category: 'model', status: 500, description: 'the model file is not valid JSON' },
  KILN_MODEL_VERSION: { category: 'model', status: 500, description: 'the model format or format_version is not one this engine reads' },
  KILN_MODEL_SCHEMA: { category: 'model', status: 500, description: 'a model key is missing, unknown, or of the wrong type' },
  KILN_MODEL_UNSUPPORTED: { category: 'model', status: 500, description: 'the model uses an unknown step, estimator or option' },
  KILN_MODEL_INVALID: { category: 'model', status: 500, description: 'the model is well-formed but inconsistent' },
  KILN_MODEL_LIMIT: { category: 'model', status: 500, description: 'the model exceeds a size limit' },
  KILN_MODEL_VERIFICATION: { category: 'model', status: 500, description: "a verification row drifted beyond tolerance from the training library's answer" },
  // Predicting (raised by the engine, or by the JS edge before the engine is called).
  KILN_INPUT_MISSING: { category: 'input', status: 400, description: 'a required feature is missing or null' },
  KILN_INPUT_NOT_FINITE: { category: 'input', status: 400, description: 'a numeric feature is NaN or infinite' },
  KILN_INPUT_UNKNOWN_CATEGORY: { category: 'input', status: 400, description: 'a category the model has never seen, where the model refuses unknown values' },
  KILN_INPUT_SHAPE: { category: 'input', status: 400, description: 'buffer sizes do not fit the model' },
  KILN_INPUT_TYPE: { category: 'input', status: 400, description: 'a feature value has the wrong type (a string where a number is required, ...)' },
  KILN_INPUT_UNKNOWN_FEATURE: { category: 'input', status: 400, description: 'a row names a feature the model does not have' },
  // The HTTP service (kiln serve): requests, the model repository, configuration.
  KILN_REQUEST_INVALID: { category: 'service', status: 400, description: 'the request is malformed (bad JSON, a body that does not match the endpoint, a wrong tensor shape or datatype)' },
  KILN_REQUEST_LIMIT: { category: 'service', status: 400, description: 'the request is over a configured limit (rows per batch)' },
  KILN_REQUEST_TOO_LARGE: { category: 'service', status: 413, description: 'the request body is over the configured size limit' },
  KILN_REQUEST_MEDIA_TYPE: { category: 'service', status: 415, description: 'the request body has a content type the endpoint does not take' },
  KILN_REQUEST_TIMEOUT: { category: 'service', status: 408, description: 'the request was not received in time' },
  KILN_NOT_FOUND: { category: 'service', status: 404, description: 'no such model, model version or route' },
  KILN_MODEL_UNAVAILABLE: { category: 'service', status: 503, description: 'the model is in the repository but not loaded (unloaded, or it failed to load)' },
  KILN_UNAUTHORIZED: { category: 'service', status: 401, description: 'an admin call without a bearer token' },
  KILN_FORBIDDEN: { category: 'service', status: 403, description: 'an admin call with a wrong token, or the admin API is disabled (no token configured)' },
  KILN_OVERLOADED: { category: 'service', status: 503, description: 'the server is overloaded or shutting down; retry later' },
  KILN_CONFIG: { category: 'service', status: 500, description: 'the server configuration is invalid' },
  // Programming errors in the caller.
  KILN_ARGUMENT: { category: 'argument', status: 500, description: 'a bad argument to a Kiln API function' },
  // The engine threw something that is not a Kiln error (out of memory, for example).
  KILN_INTERNAL: { category: 'internal', status: 500, description: 'an unexpected engine failure' },
} as const satisfies Record<string, ErrorSpec>;

export type KilnErrorCode = keyof typeof ERROR_CODES;

export interface KilnErrorDetails {
  /** The feature at fault (row errors). */
  feature?: string | undefined;
  /** 0-based index of the row within the call (row errors; 0 for predict()). */
  row?: number | undefined;
  cause?: unknown;
}

export class KilnError extends Error {
  readonly code: KilnErrorCode;
  readonly feature?: string;
  readonly row?: number;

  constructor(code: KilnErrorCode, message: string, details: KilnErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.feature !== undefined) this.feature = details.feature;
    if (details.row !== undefined) this.row = details.row;
  }

  /** HTTP status a server should answer with. */
  get status(): number {
    return (ERROR_CODES[this.code] as ErrorSpec | undefined)?.status ?? 500;
  }
}

// Visible as error.name and in stack traces, without making `name` an own enumerable property.
Object.defineProperty(KilnError.prototype, 'name', { value: 'KilnError', writable: true, configurable: true });

export function isKilnError(value: unknown): value is KilnError {
  return value instanceof KilnError;
}
