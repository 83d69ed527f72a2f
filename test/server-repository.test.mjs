// The model repository's poll, on real files: an unchanged repository is rescanned without
// reading or reloading any model (a poll runs every 2 s on every worker and must stay a directory
// listing and a stat per file), and a changed file is reloaded once.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, renameSync, rmSync, utimesSync } from 'node:fs';
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
