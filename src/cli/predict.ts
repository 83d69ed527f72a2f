// kiln predict: records in, one JSON prediction per line out, predicted in batches.

import { createReadStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';

import { KilnError } from '../errors.js';
import { loadModel, type Model } from '../model.js';
import { EXIT_OK } from './errors.js';
import { readRecords, type SourceRecord } from './rows.js';

export interface PredictOptions {
  input: string;
  batchSize: number;
}

export async function runPredict(modelPath: string, options: PredictOptions, stdout: Writable = process.stdout): Promise<number> {
  const model = loadModel(modelPath);
  const source: Readable = options.input === '-' ? process.stdin : createReadStream(options.input);
  const label = options.input === '-' ? 'stdin' : options.input;

  let batch: SourceRecord[] = [];
  let done = 0;
  for await (const item of readRecords(source, label)) {
    batch.push(item);
    if (batch.length === options.batchSize) {
      await writeBatch(model, batch, done, stdout);
      done += batch.length;
      batch = [];
    }
  }
  if (batch.length > 0) await writeBatch(model, batch, done, stdout);
  return EXIT_OK;
}

async function writeBatch(model: Model, batch: SourceRecord[], first: number, stdout: Writable): Promise<void> {
  let results;
  try {
    results = model.predictBatch(batch.map((item) => item.record as Record<string, unknown>));
  } catch (error) {
    throw renumber(error, batch, first);
  }
  let text = '';
  for (const result of results) text += `${JSON.stringify(result)}\n`;
  if (!stdout.write(text)) await once(stdout, 'drain');
}

// Row errors from a batch name the row within the batch; the user wants the row in the input.
function renumber(error: unknown, batch: SourceRecord[], first: number): unknown {
  if (!(error instanceof KilnError) || error.row === undefined) return error;
  const row = first + error.row;
  const line = batch[error.row]?.line ?? 0;
  const where = `row ${row}${line > 0 ? ` (line ${line})` : ''}`;
  // The engine's messages end in "(row N)" with the batch-relative N; drop it, `where` replaces it.
  const message = error.message.replace(` (row ${error.row})`, '');
  return new KilnError(error.code, `${where}: ${message}`, { feature: error.feature, row, cause: error });
}
