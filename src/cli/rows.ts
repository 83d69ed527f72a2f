// Reads records for `kiln predict`: a JSON array of objects, or JSON Lines (one object per line).
// The format is decided by the first non-blank character ('[' = array). JSON Lines are streamed;
// an array is read whole (JSON.parse needs it all).

import type { Readable } from 'node:stream';

import { CliError } from './errors.js';

export interface SourceRecord {
  readonly record: unknown;
  /** 1-based line in the input (JSON Lines), or 0 for a JSON array. */
  readonly line: number;
}

export async function* readRecords(input: Readable, label: string): AsyncGenerator<SourceRecord> {
  input.setEncoding('utf8');
  let mode: 'unknown' | 'array' | 'lines' = 'unknown';
  let pending = '';
  let line = 0;

  function* takeLines(final: boolean): Generator<SourceRecord> {
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0 || (final && pending.length > 0)) {
      const text = newline >= 0 ? pending.slice(0, newline) : pending;
      pending = newline >= 0 ? pending.slice(newline + 1) : '';
      line++;
      if (text.trim().length === 0) continue;
      let record: unknown;
      try {
        record = JSON.parse(text);
      } catch (error) {
        throw new CliError(
          `${label}, line ${line}: not valid JSON (${(error as Error).message}); input must be a JSON array of objects or one JSON object per line`,
        );
      }
      yield { record, line };
    }
  }

  for await (const chunk of input as AsyncIterable<string>) {
    pending += chunk;
    if (mode === 'unknown') {
      const first = pending.trimStart()[0];
      if (first === undefined) continue;
      mode = first === '[' ? 'array' : 'lines';
    }
    if (mode === 'lines') yield* takeLines(false);
  }

  if (mode === 'lines') {
    yield* takeLines(true);
  } else if (mode === 'array') {
    let rows: unknown;
    try {
      rows = JSON.parse(pending);
    } catch (error) {
      throw new CliError(`${label}: not valid JSON (${(error as Error).message})`);
    }
    if (!Array.isArray(rows)) throw new CliError(`${label}: expected a JSON array of objects`);
    for (const record of rows) yield { record, line: 0 };
  }
}
