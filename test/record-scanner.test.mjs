// The native body path (kiln/record_scanner.h, Model.predictBody) against the JS path it stands
// in for (JSON.parse, then the model's encoder): for every body, the scanner either declines or
// writes exactly the JS path's row, bit for bit (-0 included, any NaN for a missing value).
// Bodies: every verification row of the bundled and fixture models, written out several ways,
// plus mutated and adversarial variants. Then through real HTTP: the server answers every body
// (valid or not) exactly as it does with the native path turned off.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Model, loadModel } from '../dist/index.js';
import { RowEncoder } from '../dist/encode.js';
import { native } from '../dist/native.js';
import { fixtures, post, root, start } from './fixtures/server/helpers.mjs';

const modelFiles = [
  ...readdirSync(path.join(root, 'models')).filter((f) => f.endsWith('.json')).map((f) => path.join(root, 'models', f)),
  ...['colour.json', 'logreg.json', 'tree.json'].map((f) => path.join(fixtures, 'repo', f)),
];

// A fixed LCG, so every run mutates the same way.
function rng(seed) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** The JS path's row for `bytes`, or null where it throws (what the server answers with an error). */
function jsRow(encoder, bytes) {
  let record;
  try {
    record = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  // The friendly route's schema: an array goes to the batch path, never to the one-record one.
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return null;
  const row = new Float64Array(encoder.width);
  try {
    if (!encoder.encodeFast(record, row, 0)) encoder.encode(record, row, 0);
  } catch {
    return null;
  }
  return row;
}

/** Same bits, except that any NaN equals any NaN (the engine reads every NaN as missing). */
function sameRow(a, b) {
  const ab = new BigUint64Array(a.buffer, a.byteOffset, a.length);
  const bb = new BigUint64Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    if (ab[i] !== bb[i]) return false;
  }
  return true;
}

/** Ways of writing one number that JSON.parse reads as the same double (or as something else). */
function numberSpellings(v) {
  const out = [JSON.stringify(v), v.toExponential(), v.toPrecision(17), v.toExponential().replace('e', 'E'), v.toExponential(20)];
  if (Number.isInteger(v)) out.push(`${v}.000`, `${v}e0`);
  out.push(`-${JSON.stringify(v)}`, `0${JSON.stringify(Math.abs(v))}`, `+${JSON.stringify(v)}`, `${JSON.stringify(v)}.`, `${v}e400`, `${v}e-400`);
  return out;
}

/** The record written out in several equivalent ways, then broken in several ways. */
function* bodies(record, names, random) {
  const entries = Object.entries(record);
  const text = (list, sep = ', ', colon = ': ') => `{${list.map(([k, v]) => `${JSON.stringify(k)}${colon}${v === undefined ? 'null' : JSON.stringify(v)}`).join(sep)}}`;
  yield text(entries);
  yield JSON.stringify(record);
  yield JSON.stringify(record, null, 2);
  yield `\r\n\t ${text(entries, ' ,\n', ' :\t')} \n`;
  yield text([...entries].reverse());
  const shuffled = [...entries].sort(() => random() - 0.5);
  yield text(shuffled);
  // Every value spelled differently, one at a time.
  for (const [i, [k, v]] of entries.entries()) {
    if (typeof v !== 'number') continue;
    for (const spelling of numberSpellings(v)) {
      if (random() > 0.3) continue;
      const parts = entries.map(([k2, v2], j) => `${JSON.stringify(k2)}: ${j === i ? spelling : JSON.stringify(v2)}`);
      yield `{${parts.join(', ')}}`;
    }
    void k;
  }
  // Structural changes: a key dropped, repeated, unknown, escaped; values of other types.
  const pick = () => Math.floor(random() * entries.length);
  if (entries.length > 0) {
    const i = pick();
    const [k, v] = entries[i];
    yield text(entries.filter((_, j) => j !== i));
    yield text([...entries, [k, v]]);
    yield text([...entries, [k, 0]]);
    // One key repeated in place of another: as many keys as inputs, one input absent.
    if (entries.length > 1) yield text([...entries.filter((_, j) => j !== (i + 1) % entries.length), [k, 0]]);
    yield text([...entries, ['no such feature', 1]]);
    yield text(entries.map(([k2, v2], j) => [j === i ? `${k2} ` : k2, v2]));
    yield text(entries).replace(JSON.stringify(k), `"\\u${k.charCodeAt(0).toString(16).padStart(4, '0')}${JSON.stringify(k).slice(2)}`);
    for (const other of [null, true, false, 'text', [], {}, [1], { v: 1 }, -0, 1e21, 5e-324, Number.MAX_SAFE_INTEGER + 2]) {
      yield text(entries.map(([k2, v2], j) => [k2, j === i ? other : v2]));
    }
    for (const raw of ['NaN', 'Infinity', '-Infinity', '1e400', '-1e400', '1e-400', '-0', '-0.0e-7', '0x1', '.5', '1.', '01', '"\\"']) {
      yield text(entries).replace(`${JSON.stringify(k)}: ${JSON.stringify(v)}`, `${JSON.stringify(k)}: ${raw}`);
    }
  }
  yield '[' + text(entries) + ']';
  yield text(entries) + ' x';
  yield text(entries) + '}';
  yield '\uFEFF' + text(entries);
  void names;
}

/** Random byte-level damage: replacements, insertions and deletions from JSON-ish bytes. */
function mutate(body, random) {
  const alphabet = Buffer.from(' \t\n\r{}[]:,"\\-+.eE0123456789nulltruefalse\u00e9');
  const bytes = [...Buffer.from(body)];
  const edits = 1 + Math.floor(random() * 3);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(random() * bytes.length);
    const kind = random();
    const b = random() < 0.05 ? Math.floor(random() * 256) : alphabet[Math.floor(random() * alphabet.length)];
    if (kind < 0.4) bytes[at] = b;
    else if (kind < 0.7) bytes.splice(at, 0, b);
    else bytes.splice(at, 1);
  }
  return Buffer.from(bytes);
}

describe('native record scanner vs JSON.parse + encoder', () => {
  for (const file of modelFiles) {
    test(path.relative(root, file), (t) => {
      const json = JSON.parse(readFileSync(file, 'utf8'));
      const handle = native().Model.loadFile(file);
      const info = handle.info();
      const encoder = new RowEncoder(info.inputs);
      const row = new Float64Array(encoder.width);
      const out = new Float64Array(info.outputWidth);
      const predictBody = handle.bindBody(row, out);
      const names = info.inputs.map((i) => i.name);
      const random = rng(0x5eed ^ names.length);
      let accepted = 0;
      let declined = 0;
      let plainAccepted = 0;
      const check = (bytes) => {
        const expected = jsRow(encoder, bytes);
        row.fill(7); // stale values must not leak into an accepted row
        const ok = predictBody(bytes);
        if (!ok) {
          declined++;
          return false;
        }
        accepted++;
        assert.notEqual(expected, null, `native accepted what the JS path refuses: ${bytes.toString('latin1')}`);
        assert.ok(sameRow(row, expected), `rows differ for ${bytes.toString('latin1')}:\n native ${[...row]}\n js     ${[...expected]}`);
        return true;
      };
      for (const verification of json.verification.rows) {
        // The verification record as the exporter wrote it (absent or null: missing).
        const record = verification.input;
        const plain = Buffer.from(JSON.stringify(record));
        // A plain record the engine takes must be accepted: otherwise the fast path never runs.
        const js = jsRow(encoder, plain);
        if (check(plain)) plainAccepted++;
        else if (js !== null && !/\\/.test(plain.toString())) assert.fail(`declined a plain record: ${plain}`);
        for (const body of bodies(record, names, random)) {
          check(Buffer.from(body));
          for (let m = 0; m < 4; m++) check(mutate(body, random));
        }
        // Every prefix of the plain body is declined (truncated).
        for (let len = 0; len < plain.length; len += Math.max(1, Math.floor(plain.length / 40))) {
          assert.equal(predictBody(plain.subarray(0, len)), false, `accepted a truncated body: ${plain.subarray(0, len)}`);
        }
      }
      t.diagnostic(`${accepted} bodies accepted (equal rows), ${declined} declined; ${plainAccepted} plain verification records accepted`);
      assert.ok(plainAccepted > 0, 'no verification row accepted');
      assert.ok(accepted > 0 && declined > 0, `accepted ${accepted}, declined ${declined}`);
    });
  }

  // Arrays of records (friendly route) and V1 instances: the native output rows must equal the
  // engine's output for the JS path's encoded rows (JSON.parse, the schema's shape, the encoder).
  const MAX_ROWS = 8;
  function jsRows(encoder, bytes, instances) {
    let body;
    try {
      body = JSON.parse(bytes.toString('utf8'));
    } catch {
      return null;
    }
    let records = body;
    if (instances) {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
      if (Object.keys(body).some((k) => k !== 'instances' && k !== 'signature_name')) return null;
      if ('signature_name' in body && typeof body.signature_name !== 'string') return null;
      records = body.instances;
    }
    if (!Array.isArray(records) || records.length === 0 || records.length > MAX_ROWS) return null;
    const rows = new Float64Array(records.length * encoder.width);
    try {
      records.forEach((record, i) => {
        if (!encoder.encodeFast(record, rows, i * encoder.width)) encoder.encode(record, rows, i);
      });
    } catch {
      return null;
    }
    return rows;
  }

  for (const file of modelFiles) {
    test(`${path.relative(root, file)}: arrays and V1 instances`, (t) => {
      const json = JSON.parse(readFileSync(file, 'utf8'));
      const handle = native().Model.loadFile(file);
      const info = handle.info();
      const encoder = new RowEncoder(info.inputs);
      const predictBodyRows = handle.bindBodyRows();
      const predictMatrix = handle.bindMatrix();
      const random = rng(0xa11 ^ info.inputs.length);
      let accepted = 0;
      let declined = 0;
      const check = (bytes, instances) => {
        const expected = jsRows(encoder, bytes, instances);
        const out = predictBodyRows(bytes, instances ? 1 : 0, MAX_ROWS);
        if (out === null) {
          declined++;
          return false;
        }
        accepted++;
        assert.notEqual(expected, null, `native accepted what the JS path refuses: ${bytes.toString('latin1')}`);
        const n = expected.length / encoder.width;
        const want = new Float64Array(n * info.outputWidth);
        predictMatrix(expected, n, want);
        assert.equal(out.length, want.length);
        assert.ok(sameRow(out, want), `outputs differ for ${bytes.toString('latin1')}`);
        return true;
      };
      const records = json.verification.rows.map((r) => r.input);
      for (let start = 0; start < records.length; start += 3) {
        const group = records.slice(start, start + 1 + (start % 5));
        const texts = group.map((r) => JSON.stringify(r));
        const array = `[${texts.join(', ')}]`;
        const variants = [
          array,
          `\n[ ${texts.join(' ,\n ')} ]\t`,
          `{"instances": ${array}}`,
          `{"signature_name": "serving_default", "instances": ${array}}`,
          `{"instances": ${array}, "signature_name": ""}`,
        ];
        assert.ok(check(Buffer.from(variants[0]), false), `declined a plain array: ${variants[0]}`);
        assert.ok(check(Buffer.from(variants[2]), true), `declined plain instances: ${variants[2]}`);
        for (const v of variants) {
          for (const instances of [false, true]) {
            check(Buffer.from(v), instances);
            for (let m = 0; m < 6; m++) check(mutate(v, random), instances);
          }
        }
        // Structural edge cases of the envelopes.
        for (const v of ['[]', '{"instances": []}', `[${texts[0]},]`, `{"instances": ${array}, "instances": ${array}}`, `{"instances": ${array}, "x": 1}`,
          `{"instances": ${array}, "signature_name": 1}`, `{"instances": ${texts[0]}}`, `[${Array(MAX_ROWS + 1).fill(texts[0]).join(',')}]`,
          `{"instances": [${Array(MAX_ROWS + 1).fill(texts[0]).join(',')}]}`, `[${Array(MAX_ROWS).fill(texts[0]).join(',')}]`]) {
          check(Buffer.from(v), false);
          check(Buffer.from(v), true);
        }
      }
      t.diagnostic(`${accepted} bodies accepted (equal outputs), ${declined} declined`);
      assert.ok(accepted > 0 && declined > 0);
    });
  }

  test('predictBody of the Model API equals predict(JSON.parse(body))', () => {
    const model = loadModel(path.join(root, 'models', 'breast_cancer_logreg.json'));
    const json = JSON.parse(readFileSync(path.join(root, 'models', 'breast_cancer_logreg.json'), 'utf8'));
    for (const { input } of json.verification.rows) {
      const body = Buffer.from(JSON.stringify(input));
      assert.deepEqual(model.predictBody(body), model.predict(JSON.parse(body.toString())));
    }
    assert.equal(model.predictBody(Buffer.from('{"mean radius": 1}')), undefined);
    assert.throws(() => model.predictBody('{}'), /Uint8Array/);
  });
});

describe('kiln serve: friendly and V1 predict answer the same with and without the native body path', () => {
  let s;
  const calls = { accepted: 0, declined: 0, rowsAccepted: 0, rowsDeclined: 0 };
  const original = Model.prototype.predictBody;
  const originalRows = Model.prototype.predictBodyRows;
  before(async () => {
    s = await start({ cache: false });
    Model.prototype.predictBody = function spy(bytes) {
      const result = original.call(this, bytes);
      calls[result === undefined ? 'declined' : 'accepted']++;
      return result;
    };
    Model.prototype.predictBodyRows = function spy(bytes, instances, maxRows) {
      const result = originalRows.call(this, bytes, instances, maxRows);
      calls[result === undefined ? 'rowsDeclined' : 'rowsAccepted']++;
      return result;
    };
  });
  after(async () => {
    Model.prototype.predictBody = original;
    Model.prototype.predictBodyRows = originalRows;
    await s.close();
  });

  test('valid and invalid bodies, several models', async (t) => {
    const random = rng(42);
    const cases = [];
    for (const [name, file] of [
      ['colour', path.join(fixtures, 'repo', 'colour.json')],
      ['tree', path.join(fixtures, 'repo', 'tree.json')],
      ['logreg', path.join(fixtures, 'repo', 'logreg.json')],
    ]) {
      const json = JSON.parse(readFileSync(file, 'utf8'));
      for (const { input } of json.verification.rows.slice(0, 6)) {
        for (const body of bodies(input, Object.keys(input), random)) {
          cases.push([name, body]);
          if (random() < 0.3) cases.push([name, mutate(body, random)]);
        }
      }
      const texts = json.verification.rows.slice(0, 4).map((r) => JSON.stringify(r.input));
      for (const body of [`[${texts.join(',')}]`, `{"instances": [${texts.join(',')}]}`, `{"instances": [${texts.join(',')}], "signature_name": "s"}`]) {
        for (const route of ['predict', 'v1']) {
          cases.push([name, body, route]);
          for (let m = 0; m < 8; m++) cases.push([name, mutate(body, random), route]);
        }
      }
    }
    cases.push(['logreg', '{"x1": 1, "x2": 2'], ['logreg', ''], ['nosuchmodel', '{"x1": 1}']);
    const answer = async ([name, body, route = 'predict']) => {
      const r = await post(route === 'v1' ? `${s.url}/v1/models/${name}:predict` : `${s.url}/models/${name}/predict`, body);
      return `${r.status} ${r.text}`;
    };
    const withNative = [];
    for (const c of cases) withNative.push(await answer(c));
    assert.ok(calls.accepted > 50 && calls.declined > 50, `native path accepted ${calls.accepted}, declined ${calls.declined}`);
    assert.ok(calls.rowsAccepted > 10 && calls.rowsDeclined > 10, `rows: accepted ${calls.rowsAccepted}, declined ${calls.rowsDeclined}`);
    Model.prototype.predictBody = () => undefined; // the JSON.parse path for every body
    Model.prototype.predictBodyRows = () => undefined;
    for (const [i, c] of cases.entries()) assert.equal(await answer(c), withNative[i], `${c[0]} ${c[1]}`);
    assert.ok(withNative.some((a) => a.startsWith('200 ')) && withNative.some((a) => a.startsWith('400 ')));
    t.diagnostic(`${cases.length} bodies; native path accepted ${calls.accepted} records and ${calls.rowsAccepted} arrays/instances, declined ${calls.declined} and ${calls.rowsDeclined}`);
  });
});

describe('kiln serve: a native-path answer is cached by the body bytes', () => {
  let s;
  before(async () => {
    s = await start({ cache: true });
  });
  after(async () => {
    await s.close();
  });

  test('miss through the scanner, then a hit with the same text', async () => {
    const logreg = loadModel(path.join(fixtures, 'repo', 'logreg.json'));
    const body = '{"x1": 0.25, "x2": -1.5e-1}';
    assert.notEqual(logreg.predictBody(Buffer.from(body)), undefined, 'the scanner takes this body');
    const first = await post(`${s.url}/models/logreg/predict`, body);
    const second = await post(`${s.url}/models/logreg/predict`, body);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-kiln-cache'), null);
    assert.equal(second.headers.get('x-kiln-cache'), 'hit');
    assert.equal(second.text, first.text);
    assert.equal(first.text, JSON.stringify(logreg.predict(JSON.parse(body))));
  });
});
