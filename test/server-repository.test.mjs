// The model repository's poll, on real files: an unchanged repository is rescanned without
// reading or reloading any model (a poll runs every 2 s on every worker and must stay a directory
// listing and a stat per file), and a changed file is reloaded once.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { resolveConfig } from '../dist/server/config.js';
import { ModelRepository } from '../dist/server/repository.js';
import { fixtures } from './fixtures/server/helpers.mjs';

function repository(dir) {
  const events = { loads: 0, refusals: 0 };
  const config = resolveConfig({ workers: 0, modelsDir: dir, pollIntervalMs: 0, cache: false }, {});
  const repo = new ModelRepository(config, {
    onLoad: () => events.loads++,
    onRefuse: () => events.refusals++,
  });
  return { repo, events };
}

test('a poll of an unchanged repository loads nothing; a changed file is reloaded once', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-repo-'));
  try {
    copyFileSync(path.join(fixtures, 'repo', 'logreg.json'), path.join(dir, 'logreg.json'));
    const { repo, events } = repository(dir);
    await repo.start();
    assert.deepEqual(events, { loads: 1, refusals: 0 });
    const first = repo.get('logreg');

    for (let i = 0; i < 5; i++) await repo.refresh();
    assert.deepEqual(events, { loads: 1, refusals: 0 }, 'an unchanged file is not read again');
    assert.equal(repo.get('logreg'), first, 'the same entry keeps serving');

    // Replaced the way a deployment should (write aside, rename over): a new file, reloaded once.
    copyFileSync(path.join(fixtures, 'logreg_b.json'), path.join(dir, '.incoming'));
    renameSync(path.join(dir, '.incoming'), path.join(dir, 'logreg.json'));
    await repo.refresh();
    await repo.refresh();
    assert.deepEqual(events, { loads: 2, refusals: 0 });
    const second = repo.get('logreg');
    assert.ok(second.generation > first.generation);

    // Touched in place (same bytes, new mtime): its identity changed, so it is read again.
    const later = new Date(Date.now() + 5_000);
    utimesSync(path.join(dir, 'logreg.json'), later, later);
    await repo.refresh();
    await repo.refresh();
    assert.deepEqual(events, { loads: 3, refusals: 0 });
    assert.ok(repo.get('logreg').generation > second.generation);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a model unloaded while a poll is queued stays unloaded, and load() serves it again', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-repo-'));
  try {
    copyFileSync(path.join(fixtures, 'repo', 'logreg.json'), path.join(dir, 'logreg.json'));
    const { repo } = repository(dir);
    await repo.start();
    const later = new Date(Date.now() + 5_000);
    utimesSync(path.join(dir, 'logreg.json'), later, later); // the poll below has a file to reload
    const poll = repo.refresh();
    repo.unload('logreg', Date.now());
    await poll;
    assert.throws(() => repo.get('logreg'), /unloaded/);
    await repo.load('logreg', Date.now() + 1);
    assert.equal(repo.get('logreg').name, 'logreg');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('get(name) serves the highest loaded version as versions come, go, fail, reload and are unloaded', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-repo-'));
  const put = (version, file = path.join(fixtures, 'repo', 'logreg.json')) => {
    mkdirSync(path.join(dir, 'm', version), { recursive: true });
    copyFileSync(file, path.join(dir, 'm', version, 'model.json'));
  };
  try {
    put('9');
    const { repo } = repository(dir);
    await repo.start();
    assert.equal(repo.get('m').version, '9');
    put('10'); // numerically higher, lexically lower
    await repo.refresh();
    assert.equal(repo.get('m').version, '10');
    put('2');
    await repo.refresh();
    assert.equal(repo.get('m').version, '10', 'a lower version loaded later does not take over');
    mkdirSync(path.join(dir, 'm', '11'));
    writeFileSync(path.join(dir, 'm', '11', 'model.json'), '{"format": "kiln.model", "format_ver');
    await repo.refresh();
    assert.equal(repo.get('m').version, '10', 'a higher version that fails to load does not serve');
    assert.equal(repo.get('m', '9').version, '9');
    const ten = repo.get('m');
    copyFileSync(path.join(fixtures, 'logreg_b.json'), path.join(dir, 'm', '10', 'model.json'));
    const later = new Date(Date.now() + 5_000);
    utimesSync(path.join(dir, 'm', '10', 'model.json'), later, later);
    await repo.refresh();
    assert.ok(repo.get('m').generation > ten.generation, 'a reload of the latest version serves the new entry');
    rmSync(path.join(dir, 'm', '10'), { recursive: true });
    rmSync(path.join(dir, 'm', '11'), { recursive: true });
    await repo.refresh();
    assert.equal(repo.get('m').version, '9', 'the latest removed: the next highest serves');
    repo.unload('m', 1);
    assert.throws(() => repo.get('m'), { code: 'KILN_MODEL_UNAVAILABLE' });
    await repo.load('m', 2);
    assert.equal(repo.get('m').version, '9');
    rmSync(path.join(dir, 'm', '9'), { recursive: true });
    rmSync(path.join(dir, 'm', '2'), { recursive: true });
    put('3', path.join(fixtures, 'logreg_broken.json'));
    await repo.refresh();
    assert.throws(() => repo.get('m'), { code: 'KILN_MODEL_UNAVAILABLE' }, 'no version loaded');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
