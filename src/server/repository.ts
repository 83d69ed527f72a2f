// The model repository: discovers model files, loads and verifies them, serves the latest version
// of each model unless a version is asked for, reloads changed files and swaps them in atomically.
//
// Layouts (both may be mixed in one directory):
//   <dir>/<name>.json                 one version, "1"
//   <dir>/<name>/<version>/model.json versions are decimal integers; the highest is the latest
// A name present in both layouts is served from its directory; the flat file is ignored (and
// reported by index()).
//
// Atomicity: a request takes one ModelEntry (an immutable object holding the Model, its response
// cache and its marshalling plan) at the start and uses only it, so a response never mixes two
// versions. A reload builds a complete new entry (loading verifies the model: the engine replays
// its verification rows) and only then replaces the map slot; a file that fails to load leaves the
// previous entry serving and records why.
//
// Request-supplied names and versions are only ever looked up in maps, except for an explicit
// load() of a name not yet known, which validates the name and resolves the path under the root.

import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';

import { KilnError } from '../errors.js';
import { loadModelAsync, type Model } from '../model.js';
import { ResponseCache } from './cache.js';
import type { ServerConfig } from './config.js';
import { ModelPlan } from './marshal.js';

export const MODEL_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';
export const MODEL_VERSION_PATTERN = '^[0-9]{1,18}$';
const NAME_RE = new RegExp(MODEL_NAME_PATTERN);
const VERSION_RE = new RegExp(MODEL_VERSION_PATTERN);

/** One loaded model version. Immutable. */
export interface ModelEntry {
  readonly name: string;
  readonly version: string;
  readonly file: string;
  readonly model: Model;
  readonly plan: ModelPlan;
  readonly cache: ResponseCache | null;
  /** Identity of the file that was loaded (device, inode, size, mtime). */
  readonly stamp: string;
  /** Increases with every load in this process; distinguishes reloads of one version. */
  readonly generation: number;
  readonly loadedAt: Date;
}

export type VersionState = 'READY' | 'UNAVAILABLE' | 'UNLOADED';

interface VersionSlot {
  readonly version: string;
  file: string;
  entry: ModelEntry | null;
  /** Stamp of the last file we tried (loaded or refused), to avoid retrying an unchanged file. */
  triedStamp: string | null;
  /** Why the last load failed (the entry, if any, is older than the file). */
  error: string | null;
}

interface ModelSlot {
  readonly name: string;
  versions: Map<string, VersionSlot>;
  /** Set by unload(); the poller leaves the model alone until load(). */
  unloaded: boolean;
  /** A flat <name>.json shadowed by a <name>/ directory. */
  shadowed: string | null;
  /** Why the last scan could not read this model's directory (its loaded versions keep serving). */
  scanError: string | null;
  /**
   * The entry of the highest loaded version (null: none loaded), kept by #setLatest at every
   * change of `versions` or of an entry, so that the per-request get(name) is one map lookup.
   */
  latest: ModelEntry | null;
}

export interface IndexEntry {
  name: string;
  version?: string;
  state: VersionState;
  reason: string;
}

/** What readiness reports: the server is ready when every version it should serve is loaded. */
export interface RepositoryHealth {
  ready: boolean;
  /** One sentence per problem: versions not loaded, refused reloads, unreadable directories. */
  details: string[];
}

export interface RepositoryEvents {
  onLoad?(entry: ModelEntry, replaced: ModelEntry | null): void;
  onRefuse?(name: string, version: string, file: string, error: Error, keptServing: ModelEntry | null): void;
  onRemove?(name: string, version: string): void;
  /** A scan could not read the repository (`name` null) or one model's directory; called when the reason changes. */
  onScanError?(name: string | null, message: string): void;
  /** A scan read the repository (or that model's directory) again after onScanError. */
  onScanRecovered?(name: string | null): void;
}

interface Discovery {
  models: Map<string, Map<string, string>>;
  shadowed: Map<string, string>;
  /** Model directories that exist but could not be listed, with the reason. */
  unreadable: Map<string, string>;
  /** Why the repository itself could not be listed (nothing else is then known). */
  error: string | null;
}

function stampOf(stats: Stats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}`;
}

function compareVersions(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function isValidModelName(name: string): boolean {
  return NAME_RE.test(name);
}

export function isValidModelVersion(version: string): boolean {
  return VERSION_RE.test(version);
}

export class ModelRepository {
  readonly root: string;
  readonly #config: ServerConfig;
  readonly #events: RepositoryEvents;
  readonly #models = new Map<string, ModelSlot>();
  #generation = 0;
  #timer: NodeJS.Timeout | null = null;
  #polling: Promise<void> | null = null;
  /** Refreshes run one at a time, in order. */
  #queue: Promise<void> = Promise.resolve();
  #ready = false;
  /**
   * Time (ms since the epoch, one clock for every worker of a host) of the latest load/unload of
   * each model. A worker applies its own calls at once and replays the other workers' later; a
   * replay older than what the worker already applied is dropped, so a stalled worker cannot let
   * an earlier unload overtake a later load (seen in a soak under a multi-second CPU stall).
   */
  readonly #adminAt = new Map<string, number>();
  /** Why the last scan could not list the repository; loaded models keep serving meanwhile. */
  #scanError: string | null = null;

  constructor(config: ServerConfig, events: RepositoryEvents = {}) {
    this.root = config.modelsDir;
    this.#config = config;
    this.#events = events;
  }

  /** True once the first scan has finished (whatever it loaded). */
  get ready(): boolean {
    return this.#ready;
  }

  /** Scans the repository and loads every model found. Throws if the directory cannot be read. */
  async start(): Promise<void> {
    try {
      const stats = await fsp.stat(this.root);
      if (!stats.isDirectory()) throw new Error('not a directory');
    } catch (error) {
      throw new KilnError('KILN_CONFIG', `model repository ${this.root} cannot be read: ${(error as Error).message}`);
    }
    await this.refresh();
    this.#ready = true;
    if (this.#config.pollIntervalMs > 0) this.#schedule();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#polling = this.refresh()
        .catch(() => undefined)
        .finally(() => {
          this.#polling = null;
          if (this.#timer !== null) this.#schedule();
        });
    }, this.#config.pollIntervalMs);
    this.#timer.unref();
  }

  /** Waits for a poll in progress, if any (tests, shutdown). */
  async settled(): Promise<void> {
    if (this.#polling) await this.#polling;
  }

  /**
   * Rescans the directory: loads new and changed files, drops versions whose files are gone.
   * Models unloaded through the API are skipped.
   */
  refresh(only?: string): Promise<void> {
    const run = this.#queue.then(() => this.#refreshNow(only));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #refreshNow(only?: string): Promise<void> {
    const found = await this.#discover(only);
    // A repository that cannot be listed (removed, unmounted, permissions) says nothing about
    // which models exist: keep serving everything loaded and report it, rather than unload all.
    if (found.error !== null) {
      if (found.error !== this.#scanError) this.#events.onScanError?.(null, found.error);
      this.#scanError = found.error;
      return;
    }
    if (this.#scanError !== null) this.#events.onScanRecovered?.(null);
    this.#scanError = null;
    for (const [name, slot] of this.#models) {
      if (only !== undefined && only !== name) continue;
      const reason = found.unreadable.get(name) ?? null;
      if (reason !== null && reason !== slot.scanError) this.#events.onScanError?.(name, reason);
      else if (reason === null && slot.scanError !== null) this.#events.onScanRecovered?.(name);
      slot.scanError = reason;
    }
    for (const [name, files] of found.models) {
      let slot = this.#models.get(name);
      if (!slot) {
        slot = { name, versions: new Map(), unloaded: false, shadowed: null, scanError: null, latest: null };
        this.#models.set(name, slot);
      }
      slot.shadowed = found.shadowed.get(name) ?? null;
      if (slot.unloaded) continue;
      for (const [version, file] of files) await this.#refreshVersion(slot, version, file);
      if (slot.unloaded) continue; // unloaded while loading
      for (const version of [...slot.versions.keys()]) {
        if (!files.has(version)) {
          slot.versions.delete(version);
          this.#setLatest(slot);
          this.#events.onRemove?.(name, version);
        }
      }
    }
    for (const [name, slot] of this.#models) {
      if ((only === undefined || only === name) && !found.models.has(name) && !found.unreadable.has(name)) {
        if (!slot.unloaded) for (const version of slot.versions.keys()) this.#events.onRemove?.(name, version);
        this.#models.delete(name);
      }
    }
  }

  async #refreshVersion(slot: ModelSlot, version: string, file: string): Promise<void> {
    let stamp: string;
    try {
      // Asynchronous like the rest of a poll: a slow or hung filesystem (a network mount) must
      // not hold the event loop, and with it every request in flight, for the length of a stat.
      stamp = stampOf(await fsp.stat(file));
    } catch {
      return; // vanished between discovery and now; the next poll settles it
    }
    if (slot.unloaded) return; // unloaded during the stat: load() starts afresh
    let vslot = slot.versions.get(version);
    if (vslot && vslot.file === file && vslot.triedStamp === stamp) return;
    if (!vslot) {
      vslot = { version, file, entry: null, triedStamp: null, error: null };
      slot.versions.set(version, vslot);
    }
    vslot.file = file;
    vslot.triedStamp = stamp;
    const previous = vslot.entry;
    try {
      // Loads and verifies on the thread pool; the previous entry serves meanwhile.
      const model = await loadModelAsync(file);
      if (slot.unloaded) return;
      const entry: ModelEntry = Object.freeze({
        name: slot.name,
        version,
        file,
        model,
        plan: new ModelPlan(slot.name, version, model),
        cache: this.#config.cache.enabled ? new ResponseCache(this.#config.cache) : null,
        stamp,
        generation: ++this.#generation,
        loadedAt: new Date(),
      });
      vslot.entry = entry; // the swap: one assignment
      vslot.error = null;
      this.#setLatest(slot);
      this.#events.onLoad?.(entry, previous);
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      vslot.error = err.message;
      this.#events.onRefuse?.(slot.name, version, file, err, previous);
    }
  }

  async #discover(only?: string): Promise<Discovery> {
    const models = new Map<string, Map<string, string>>();
    const shadowed = new Map<string, string>();
    const unreadable = new Map<string, string>();
    const flat = new Map<string, string>();
    let dirents;
    try {
      dirents = await fsp.readdir(this.root, { withFileTypes: true });
    } catch (error) {
      return { models, shadowed, unreadable, error: `model repository ${this.root} cannot be read: ${(error as Error).message}` };
    }
    for (const d of dirents) {
      if (d.isFile() && d.name.endsWith('.json')) {
        const name = d.name.slice(0, -'.json'.length);
        if (NAME_RE.test(name) && (only === undefined || only === name)) flat.set(name, path.join(this.root, d.name));
      } else if (d.isDirectory() && NAME_RE.test(d.name) && (only === undefined || only === d.name)) {
        const versions = new Map<string, string>();
        let inner;
        try {
          inner = await fsp.readdir(path.join(this.root, d.name), { withFileTypes: true });
        } catch (error) {
          unreadable.set(d.name, `model directory ${d.name} cannot be read: ${(error as Error).message}`);
          continue;
        }
        for (const v of inner) {
          if (!v.isDirectory() || !VERSION_RE.test(v.name)) continue;
          const file = path.join(this.root, d.name, v.name, 'model.json');
          try {
            if ((await fsp.stat(file)).isFile()) versions.set(v.name, file);
          } catch {
            // a version directory without model.json is not a version (yet)
          }
        }
        if (versions.size > 0) models.set(d.name, versions);
      }
    }
    // A scan reads the directories one after the other: a repository removed or unmounted at
    // once partway through would look like model directories emptied of their versions (taken
    // as removed). Only a repository still there after the scan vouches for what it saw.
    try {
      await fsp.readdir(this.root);
    } catch (error) {
      return { models: new Map(), shadowed, unreadable, error: `model repository ${this.root} cannot be read: ${(error as Error).message}` };
    }
    for (const [name, file] of flat) {
      if (models.has(name)) shadowed.set(name, file);
      else models.set(name, new Map([['1', file]]));
    }
    return { models, shadowed, unreadable, error: null };
  }

  /**
   * The entry serving `name` (its latest loaded version, or `version`). Throws KILN_NOT_FOUND
   * for a name or version the repository does not have, KILN_MODEL_UNAVAILABLE for one that is
   * there but not loaded.
   */
  get(name: string, version?: string): ModelEntry {
    const slot = this.#models.get(name);
    if (!slot) throw new KilnError('KILN_NOT_FOUND', `model ${JSON.stringify(name)} not found`);
    if (slot.unloaded) throw new KilnError('KILN_MODEL_UNAVAILABLE', `model ${JSON.stringify(name)} is unloaded`);
    if (version !== undefined) {
      const vslot = slot.versions.get(version);
      if (!vslot) throw new KilnError('KILN_NOT_FOUND', `model ${JSON.stringify(name)} has no version ${JSON.stringify(version)}`);
      if (!vslot.entry) throw new KilnError('KILN_MODEL_UNAVAILABLE', `model ${JSON.stringify(name)} version ${version} is not available: ${vslot.error ?? 'not loaded'}`);
      return vslot.entry;
    }
    const latest = slot.latest;
    if (latest === null) {
      const reasons = [...slot.versions.values()].map((v) => v.error).filter((e) => e !== null);
      throw new KilnError('KILN_MODEL_UNAVAILABLE', `model ${JSON.stringify(name)} is not available${reasons.length ? `: ${reasons[0]}` : ''}`);
    }
    return latest;
  }

  /** The loaded versions of a model, in ascending order (empty if none). */
  versions(name: string): string[] {
    const slot = this.#models.get(name);
    if (!slot || slot.unloaded) return [];
    return [...slot.versions.values()]
      .filter((v) => v.entry !== null)
      .map((v) => v.version)
      .sort(compareVersions);
  }

  /**
   * Server readiness (KServe V2: the server is ready when all its models are ready). Ready once the
   * first scan is done and every version of every model not unloaded through the API is loaded;
   * a version whose reload was refused still serves its previous generation, so it counts as
   * loaded. Problems that do not stop serving (a refused reload, an unreadable directory) are
   * listed in `details` without making the server unready.
   */
  health(): RepositoryHealth {
    const details: string[] = [];
    let ready = this.#ready;
    if (this.#scanError !== null) details.push(`${this.#scanError}; serving the models loaded before`);
    for (const name of [...this.#models.keys()].sort()) {
      const slot = this.#models.get(name) as ModelSlot;
      if (slot.unloaded) continue;
      if (slot.scanError !== null) details.push(`${slot.scanError}; serving the versions loaded before`);
      for (const vslot of [...slot.versions.values()].sort((a, b) => compareVersions(a.version, b.version))) {
        if (!vslot.entry) {
          ready = false;
          details.push(`model ${name} version ${vslot.version} is not loaded: ${vslot.error ?? 'loading'}`);
        } else if (vslot.error) {
          details.push(`model ${name} version ${vslot.version}: reload refused, generation ${vslot.entry.generation} keeps serving: ${vslot.error}`);
        }
      }
    }
    return { ready, details };
  }

  /** Every model and version the repository knows, with its state (Triton's repository index). */
  index(readyOnly = false): IndexEntry[] {
    const out: IndexEntry[] = [];
    const names = [...this.#models.keys()].sort();
    for (const name of names) {
      const slot = this.#models.get(name) as ModelSlot;
      if (slot.unloaded) {
        if (!readyOnly) out.push({ name, state: 'UNLOADED', reason: 'unloaded through the repository API' });
        continue;
      }
      for (const vslot of [...slot.versions.values()].sort((a, b) => compareVersions(a.version, b.version))) {
        const state: VersionState = vslot.entry ? 'READY' : 'UNAVAILABLE';
        if (readyOnly && state !== 'READY') continue;
        let reason = '';
        if (vslot.error) reason = vslot.entry ? `reload refused, generation ${vslot.entry.generation} keeps serving: ${vslot.error}` : vslot.error;
        else if (slot.scanError) reason = `${slot.scanError}; this version keeps serving`;
        else if (slot.shadowed) reason = `flat file ${path.basename(slot.shadowed)} ignored: the directory layout takes precedence`;
        out.push({ name, version: vslot.version, state, reason });
      }
    }
    return out;
  }

  /** All entries serving now (for metadata and metrics). */
  entries(): ModelEntry[] {
    const out: ModelEntry[] = [];
    for (const slot of this.#models.values()) {
      if (slot.unloaded) continue;
      for (const vslot of slot.versions.values()) if (vslot.entry) out.push(vslot.entry);
    }
    return out;
  }

  /**
   * Triton's load: (re)loads a model from the repository, also after unload(). Files unchanged
   * since their last load are kept as they are. Throws KILN_NOT_FOUND when the repository has no
   * such model, KILN_MODEL_UNAVAILABLE (with the engine's reason) when no version could be loaded.
   */
  async load(name: string, at: number = Date.now()): Promise<void> {
    if (!NAME_RE.test(name)) throw new KilnError('KILN_REQUEST_INVALID', `invalid model name ${JSON.stringify(name)}`);
    if (!this.#newest(name, at)) return; // a later load/unload has been applied already
    const slot = this.#models.get(name);
    if (slot) slot.unloaded = false;
    await this.refresh(name);
    if (this.#adminAt.get(name) !== at) return; // superseded while loading: the later call stands
    // A repository (or model directory) that cannot be read was not reloaded from: say so
    // rather than report a load that did not happen. What was loaded keeps serving.
    const unreadable = this.#scanError ?? this.#models.get(name)?.scanError ?? null;
    if (unreadable !== null) throw new KilnError('KILN_MODEL_UNAVAILABLE', `cannot load model ${JSON.stringify(name)}: ${unreadable}`);
    const after = this.#models.get(name);
    if (!after) throw new KilnError('KILN_NOT_FOUND', `model ${JSON.stringify(name)} not found in repository ${path.basename(this.root)}`);
    this.get(name); // throws KILN_MODEL_UNAVAILABLE with the reason if nothing loaded
  }

  /** Records `at` as the latest admin call on `name` unless a later one was applied; says which. */
  #newest(name: string, at: number): boolean {
    const last = this.#adminAt.get(name);
    if (last !== undefined && at < last) return false;
    this.#adminAt.set(name, at);
    return true;
  }

  /** Triton's unload: the model stops serving until load(). */
  unload(name: string, at: number = Date.now()): void {
    if (!NAME_RE.test(name)) throw new KilnError('KILN_REQUEST_INVALID', `invalid model name ${JSON.stringify(name)}`);
    const slot = this.#models.get(name);
    if (!slot) throw new KilnError('KILN_NOT_FOUND', `model ${JSON.stringify(name)} not found`);
    if (!this.#newest(name, at)) return; // a later load/unload has been applied already
    if (!slot.unloaded) for (const version of slot.versions.keys()) this.#events.onRemove?.(name, version);
    slot.unloaded = true;
    slot.versions = new Map();
    this.#setLatest(slot);
  }

  /** Recomputes slot.latest: the loaded entry of the highest version. */
  #setLatest(slot: ModelSlot): void {
    let best: ModelEntry | null = null;
    for (const vslot of slot.versions.values()) {
      if (vslot.entry && (best === null || compareVersions(vslot.version, best.version) > 0)) best = vslot.entry;
    }
    slot.latest = best;
  }
}
