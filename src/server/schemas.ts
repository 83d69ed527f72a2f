// JSON schemas of every route: compiled once by Fastify (Ajv for requests, fast-json-stringify
// for the responses sent as objects) and published as OpenAPI at /docs/json. The predict routes
// send their answers as prebuilt text (response-text.ts), which the serializer passes through:
// their response schemas document the answer.

import { MODEL_NAME_PATTERN, MODEL_VERSION_PATTERN } from './repository.js';
import { V2_DATATYPES } from './marshal.js';

export const errorSchema = {
  $id: 'kiln.error',
  type: 'object',
  description: 'Every error: a message, never a stack trace, and its stable code from the error catalogue',
  required: ['error'],
  properties: { error: { type: 'string' }, code: { type: 'string', pattern: '^KILN_[A-Z_]+$' } },
} as const;

const errorRef = { $ref: 'kiln.error#' } as const;

export const errorResponses = {
  400: errorRef,
  401: errorRef,
  403: errorRef,
  404: errorRef,
  413: errorRef,
  415: errorRef,
  500: errorRef,
  503: errorRef,
} as const;

const parameters = {
  type: 'object',
  description: 'Name to string, number or boolean ($parameters of the protocol)',
  additionalProperties: { type: ['string', 'number', 'boolean'] },
} as const;

export const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', pattern: MODEL_NAME_PATTERN, description: 'Model name' } },
} as const;

export const nameVersionParams = {
  type: 'object',
  required: ['name', 'version'],
  properties: {
    name: { type: 'string', pattern: MODEL_NAME_PATTERN, description: 'Model name' },
    version: { type: 'string', pattern: MODEL_VERSION_PATTERN, description: 'Model version (a decimal integer)' },
  },
} as const;

const metadataTensor = {
  type: 'object',
  required: ['name', 'datatype', 'shape'],
  properties: { name: { type: 'string' }, datatype: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } } },
} as const;

export const liveResponse = { type: 'object', properties: { live: { type: 'boolean' } } } as const;
export const readyResponse = {
  type: 'object',
  required: ['ready'],
  properties: {
    ready: { type: 'boolean' },
    details: { type: 'array', items: { type: 'string' }, description: 'Why the server is not ready, and problems that do not stop it serving (refused reloads, an unreadable repository)' },
  },
} as const;
export const modelReadyResponse = { type: 'object', properties: { name: { type: 'string' }, ready: { type: 'boolean' } } } as const;

export const serverMetadataResponse = {
  type: 'object',
  required: ['name', 'version', 'extensions'],
  properties: { name: { type: 'string' }, version: { type: 'string' }, extensions: { type: 'array', items: { type: 'string' } } },
} as const;

export const modelMetadataResponse = {
  type: 'object',
  required: ['name', 'platform', 'inputs', 'outputs'],
  properties: {
    name: { type: 'string' },
    versions: { type: 'array', items: { type: 'string' } },
    platform: { type: 'string' },
    inputs: { type: 'array', items: metadataTensor },
    outputs: { type: 'array', items: metadataTensor },
    parameters,
  },
} as const;

export const inferRequest = {
  type: 'object',
  required: ['inputs'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', maxLength: 1024 },
    parameters,
    inputs: {
      type: 'array',
      minItems: 1,
      maxItems: 100_000,
      items: {
        type: 'object',
        required: ['name', 'shape', 'datatype', 'data'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', maxLength: 1024 },
          shape: { type: 'array', minItems: 1, maxItems: 8, items: { type: 'integer', minimum: 0, maximum: 1e9 } },
          datatype: { type: 'string', enum: V2_DATATYPES },
          parameters,
          data: {
            type: 'array',
            description: 'Row-major tensor data, flat or nested as the shape; BYTES as strings, null only for inputs that accept a missing value',
          },
        },
      },
    },
    outputs: {
      type: 'array',
      maxItems: 16,
      items: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: { name: { type: 'string', maxLength: 1024 }, parameters },
      },
    },
  },
} as const;

export const inferResponse = {
  type: 'object',
  required: ['model_name', 'model_version'],
  properties: {
    model_name: { type: 'string' },
    model_version: { type: 'string' },
    id: { type: 'string' },
    outputs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'datatype', 'shape', 'data'],
        properties: {
          name: { type: 'string' },
          datatype: { type: 'string' },
          shape: { type: 'array', items: { type: 'integer' } },
          data: { type: 'array', items: { type: ['number', 'string'] } },
        },
      },
    },
  },
} as const;

const record = {
  type: 'object',
  description: 'One row: feature name to a number, a string (string categories) or null (a missing value, where the model accepts one)',
  additionalProperties: { type: ['number', 'string', 'null'] },
} as const;

export const prediction = {
  type: 'object',
  description: 'Classification: label (+ probabilities, decision values when the model has them); regression: value',
  properties: {
    label: { type: ['string', 'number'] },
    probabilities: { type: 'array', items: { type: 'number' } },
    decision: { type: 'array', items: { type: 'number' } },
    value: { type: 'number' },
  },
} as const;

export const v1Request = {
  type: 'object',
  required: ['instances'],
  additionalProperties: false,
  properties: {
    signature_name: { type: 'string', description: 'Accepted and ignored (TF Serving compatibility)' },
    // Items are checked by the model's encoder, which names the feature and row at fault.
    instances: { type: 'array', items: { description: record.description } },
  },
} as const;

export const v1Response = {
  type: 'object',
  required: ['predictions'],
  properties: { predictions: { type: 'array', items: prediction } },
} as const;

export const v1StatusResponse = {
  type: 'object',
  properties: { name: { type: 'string' }, ready: { type: 'boolean' } },
} as const;

export const predictRequest = {
  description: 'One record, or an array of records',
  type: ['object', 'array'],
} as const;

export const predictResponse = {
  anyOf: [prediction, { type: 'array', items: prediction }],
} as const;

export const modelListResponse = {
  type: 'object',
  properties: {
    models: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          versions: { type: 'array', items: { type: 'string' } },
          task: { type: 'string' },
        },
      },
    },
  },
} as const;

export const friendlyModelResponse = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    version: { type: 'string' },
    versions: { type: 'array', items: { type: 'string' } },
    task: { type: 'string', enum: ['classification', 'regression'] },
    classes: { type: 'array', items: { type: ['string', 'number'] } },
    inputs: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          type: { type: 'string', enum: ['number', 'category'] },
          dtype: { type: 'string', enum: ['string', 'number'] },
          nullable: { type: 'boolean' },
          vocabulary: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
} as const;

export const repositoryIndexRequest = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { ready: { type: 'boolean' } },
} as const;

export const repositoryIndexResponse = {
  type: 'array',
  items: {
    type: 'object',
    properties: { name: { type: 'string' }, version: { type: 'string' }, state: { type: 'string' }, reason: { type: 'string' } },
  },
} as const;

export const repositoryActionRequest = {
  type: ['object', 'null'],
  properties: { parameters },
} as const;
