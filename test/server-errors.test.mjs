// kiln serve: every bad input of issue 4 gives a 4xx with a clear {"error": ...} message (no stack
// trace), and the server keeps serving afterwards.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { TOKEN, get, post, start } from './fixtures/server/helpers.mjs';

const good = { inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP64', data: [1, 2] }] };

/** Sends raw bytes on one connection and returns the status line's code and the body. */
function raw(url, text) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(text));
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (data += chunk));
    socket.on('end', () => {
      const status = Number(data.slice(9, 12));
      resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
    socket.on('error', reject);
  });
}

describe('kiln serve: bad requests', () => {
  let s;
  before(async () => {
    s = await start({ bodyLimit: 256 * 1024, maxBatchRows: 1000 });
  });
  after(async () => {
    await s.close();
  });

  async function assertStillServing() {
    const r = await post(`${s.url}/v2/models/logreg/infer`, good);
    assert.equal(r.status, 200, `server stopped serving: ${r.text}`);
  }

  /** Asserts a 4xx {"error"} answer whose message matches `pattern`, then that the server serves. */
  async function refused(response, status, pattern) {
    assert.equal(response.status, status, response.text);
    assert.equal(typeof response.json?.error, 'string', response.text);
    assert.match(response.json.error, pattern);
    assert.match(response.json.code, /^KILN_[A-Z_]+$/, 'every error carries its catalogue code');
    assert.doesNotMatch(response.text, /\n\s+at |\.js:\d+/, 'stack trace in a response');
    await assertStillServing();
  }

  const infer = (body) => post(`${s.url}/v2/models/logreg/infer`, body);
  const v2 = (tensors) => infer({ inputs: tensors });

  test('malformed JSON', async () => {
    await refused(await infer('{"inputs": [}'), 400, /not valid JSON/);
    await refused(await post(`${s.url}/models/logreg/predict`, '{"x1": 1,'), 400, /not valid JSON/);
  });

  test('wrong content type', async () => {
    await refused(await post(`${s.url}/v2/models/logreg/infer`, JSON.stringify(good), { 'content-type': 'text/plain' }), 415, /unsupported content type "text\/plain"/);
    await refused(await post(`${s.url}/models/logreg/predict`, 'x1=1&x2=2', { 'content-type': 'application/x-www-form-urlencoded' }), 415, /application\/json/);
  });

  test('empty body', async () => {
    await refused(await infer(''), 400, /body must be object.*empty/);
    await refused(await post(`${s.url}/v1/models/logreg:predict`, ''), 400, /empty/);
  });

  test('body over the limit', async () => {
    const big = JSON.stringify({ inputs: [{ name: 'x1', shape: [1], datatype: 'FP64', data: [1] }], id: 'x'.repeat(300 * 1024) });
    await refused(await infer(big), 413, /larger than the limit of 262144 bytes/);
  });

  test('unknown model or version', async () => {
    await refused(await infer.call(null, good).then(() => post(`${s.url}/v2/models/nope/infer`, good)), 404, /model "nope" not found/);
    await refused(await post(`${s.url}/v2/models/versioned/versions/9/infer`, good), 404, /no version "9"/);
    await refused(await post(`${s.url}/v1/models/nope:predict`, { instances: [{}] }), 404, /not found/);
    await refused(await post(`${s.url}/models/nope/predict`, {}), 404, /not found/);
    await refused(await get(`${s.url}/v2/models/nope`), 404, /not found/);
    await refused(await get(`${s.url}/no/such/route`), 404, /no route GET \/no\/such\/route/);
  });

  test('missing, extra and mistyped features (records)', async () => {
    const predict = (body) => post(`${s.url}/models/logreg/predict`, body);
    await refused(await predict({ x1: 1 }), 400, /x2.*(missing|required)/);
    await refused(await predict({ x1: 1, x2: 2, x3: 3 }), 400, /unknown feature .x3./);
    await refused(await predict({ x1: 1, x2: 'two' }), 400, /x2.*must be a number.*string "two"/);
    await refused(await predict({ x1: true, x2: 1 }), 400, /x1.*must be a number.*boolean/);
    await refused(await post(`${s.url}/v1/models/logreg:predict`, { instances: [{ x1: 1, x2: 2 }, { x1: 1 }] }), 400, /row 1.*x2.*(missing|required)|x2.*(missing|required).*row 1/);
    await refused(await post(`${s.url}/v1/models/logreg:predict`, { inputs: { x1: [1] } }), 400, /required property 'instances'/);
    await refused(await post(`${s.url}/models/colour/predict`, { colour: 'red', shape: 'triangle', size: 1 }), 400, /shape/);
  });

  test('missing, extra and mistyped features (V2 tensors)', async () => {
    const x1 = { name: 'x1', shape: [1], datatype: 'FP64', data: [1] };
    const x2 = { name: 'x2', shape: [1], datatype: 'FP64', data: [2] };
    await refused(await v2([x1]), 400, /input tensor "x2" is missing/);
    await refused(await v2([x1, x2, { name: 'x3', shape: [1], datatype: 'FP64', data: [3] }]), 400, /unknown input tensor "x3"/);
    await refused(await v2([x1, { ...x2, data: ['2'] }]), 400, /input "x2" must be a number, got the string "2"/);
    await refused(await v2([x1, x1, x2]), 400, /given twice/);
    await refused(await v2([x1, { ...x2, data: [2.5], datatype: 'INT32' }]), 400, /holds 2.5 in a INT32 tensor/);
    await refused(await infer({ inputs: [x1, x2], extra: 1 }), 400, /unknown property "extra"/);
    await refused(await infer({ inputs: [x1, x2], outputs: [{ name: 'nope' }] }), 400, /unknown output "nope"/);
    await refused(await infer({ inputs: [{ name: 'x1', shape: [1], data: [1] }] }), 400, /must have required property 'datatype'/);
  });

  test('wrong tensor shape or datatype', async () => {
    const x2 = { name: 'x2', shape: [1], datatype: 'FP64', data: [2] };
    await refused(await v2([{ name: 'x1', shape: [2], datatype: 'FP64', data: [1] }, x2]), 400, /shape \[2\] needs 2 elements, data holds 1/);
    await refused(await v2([{ name: 'x1', shape: [1, 3], datatype: 'FP64', data: [1, 2, 3] }, x2]), 400, /expected \[n\] or \[n, 1\]/);
    await refused(await v2([{ name: 'x1', shape: [2], datatype: 'FP64', data: [1, 2] }, x2]), 400, /has 1 rows; the other input tensors have 2|has 2 rows/);
    await refused(await v2([{ name: 'input', shape: [1, 3], datatype: 'FP64', data: [1, 2, 3] }]), 400, /expected \[n, 2\]/);
    await refused(await v2([{ name: 'input', shape: [2, 2], datatype: 'FP64', data: [1, 2, 3] }]), 400, /needs 4 elements, data holds 3/);
    await refused(await v2([{ name: 'input', shape: [1, 2], datatype: 'INT32', data: [1, 2] }]), 400, /expected FP32 or FP64/);
    await refused(await v2([{ name: 'x1', shape: [1], datatype: 'BYTES', data: ['1'] }, x2]), 400, /datatype BYTES; expected a numeric datatype/);
    await refused(await v2([{ name: 'x1', shape: [1], datatype: 'FP128', data: [1] }, x2]), 400, /datatype must be one of/);
    await refused(
      await post(`${s.url}/v2/models/colour/infer`, {
        inputs: [
          { name: 'shape', shape: [1], datatype: 'FP64', data: [1] },
          { name: 'size', shape: [1], datatype: 'FP64', data: [1] },
        ],
      }),
      400,
      /datatype FP64; expected BYTES/,
    );
    await refused(await post(`${s.url}/v2/models/colour/infer`, { inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP64', data: [1, 2, 3] }] }), 400, /string category inputs/);
  });

  test('NaN and Infinity where not allowed', async () => {
    // JSON has no NaN/Infinity: 1e999 parses to Infinity; "NaN" is a string; null is a missing value.
    await refused(await infer('{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP64","data":[1e999,1]}]}'), 400, /"x1" \(column 0\) is not a finite FP64 number/);
    await refused(await v2([{ name: 'input', shape: [1, 2], datatype: 'FP32', data: [1, 1e300] }]), 400, /"x2" \(column 1\) is not a finite FP32 number/);
    await refused(await v2([{ name: 'input', shape: [1, 2], datatype: 'FP64', data: ['NaN', 1] }]), 400, /must be a number, got the string "NaN"/);
    await refused(await v2([{ name: 'input', shape: [1, 2], datatype: 'FP64', data: [null, 1] }]), 400, /"x1" \(column 0\) is null and the model does not accept null/);
    await refused(await post(`${s.url}/models/logreg/predict`, '{"x1": 1e999, "x2": 1}'), 400, /x1.*(finite|Infinity)/);
    await refused(await post(`${s.url}/models/logreg/predict`, { x1: null, x2: 1 }), 400, /x1.*(missing|required|null)/);
  });

  test('deeply nested JSON', async () => {
    const depth = 50_000;
    const nested = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    await refused(await infer(`{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP64","data":${nested}}]}`), 400, /nested deeper than its shape/);
    await refused(await post(`${s.url}/models/logreg/predict`, `{"x1":${nested},"x2":1}`), 400, /x1.*must be a number, got an array/);
    await refused(await post(`${s.url}/v1/models/logreg:predict`, `{"instances":${nested}}`), 400, /expected an object of named features, got an array/);
    const objects = `${'{"a":'.repeat(depth / 2)}1${'}'.repeat(depth / 2)}`;
    await refused(await infer(objects), 400, /invalid request/);
  });

  test('a 10,000-row batch is over the limit', async () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => ({ x1: i % 7, x2: 1 }));
    await refused(await post(`${s.url}/v1/models/logreg:predict`, { instances: rows }), 400, /10000 rows; this server takes at most 1000/);
    await refused(await post(`${s.url}/models/logreg/predict`, rows), 400, /10000 rows; this server takes at most 1000/);
    await refused(await v2([{ name: 'input', shape: [10_000, 2], datatype: 'FP64', data: rows.flatMap((r) => [r.x1, r.x2]) }]), 400, /10000 rows; this server takes at most 1000/);
  });

  test('path traversal in a model name or version', async () => {
    await refused(await post(`${s.url}/v2/models/..%2F..%2Fetc%2Fpasswd/infer`, good), 400, /params.name must match pattern/);
    await refused(await get(`${s.url}/v2/models/..%2Flogreg`), 400, /params.name must match pattern/);
    const dots = await post(`${s.url}/models/%2E%2E/predict`, {}); // the client normalises it to /predict
    assert.ok(dots.status === 400 || dots.status === 404, dots.text);
    await refused(await post(`${s.url}/v2/models/versioned/versions/..%2F1/infer`, good), 400, /params.version must match pattern/);
    // V1's route pattern sees the decoded name: still the invalid-name 400, not a 404.
    for (const name of ['..%2F..%2Fetc', '..%2F', '%2E%2E%2Flogreg', 'a%2Fb', 'x%3Ay']) {
      const v1 = await post(`${s.url}/v1/models/${name}:predict`, { instances: [{}] });
      await refused(v1, 400, /invalid model name/);
      assert.equal(v1.json.code, 'KILN_REQUEST_INVALID');
    }
    await refused(await post(`${s.url}/v1/models/logreg/versions/..%2F1:predict`, { instances: [{}] }), 400, /invalid model version/);
    await refused(await post(`${s.url}/v1/models/.hidden:predict`, { instances: [{}] }), 400, /invalid model name/);
    // Raw request line, not normalised by any client.
    const r = await raw(s.url, 'GET /v2/models/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
    await refused(await post(`${s.url}/v2/repository/models/..%2Fx/load`, {}, { authorization: `Bearer ${TOKEN}` }), 400, /params.name must match pattern/);
  });

  test('long model names reach validation: a 404 naming the model, or a 400 naming the pattern or the limit', async () => {
    // find-my-way would answer parameters over its default 100 characters itself (414); the
    // server's router limit (1024) lets names up to the pattern's 128 characters be validated.
    const long = `m${'x'.repeat(119)}`;
    await refused(await post(`${s.url}/v2/models/${long}/infer`, good), 404, new RegExp(long));
    await refused(await post(`${s.url}/v2/models/${'y'.repeat(200)}/infer`, good), 400, /params.name must match pattern/);
    await refused(await post(`${s.url}/v2/models/${'z'.repeat(1100)}/infer`, good), 400, /a path parameter is longer than 1024 characters/);
  });

  test('admin call without or with a wrong token', async () => {
    await refused(await post(`${s.url}/v2/repository/index`, {}), 401, /Bearer/);
    await refused(await post(`${s.url}/v2/repository/index`, {}, { authorization: 'Bearer wrong-token-0123456789' }), 403, /wrong admin token/);
    await refused(await post(`${s.url}/v2/repository/models/logreg/unload`, {}, { authorization: `Basic ${TOKEN}` }), 401, /Bearer/);
    await refused(await post(`${s.url}/v2/repository/models/logreg/unload`, {}, { authorization: `Bearer ${TOKEN}x` }), 403, /wrong admin token/);
    assert.equal((await get(`${s.url}/v2/models/logreg/ready`)).status, 200, 'a refused unload must not unload');
  });

  test('failures are counted per model in /metrics', async () => {
    const m = await get(`${s.url}/metrics`);
    assert.match(m.text, /kiln_inference_request_failure\{model="logreg",version="1",code="KILN_INPUT_MISSING"\} [1-9]/);
  });
});
