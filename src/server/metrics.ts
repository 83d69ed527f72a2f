// Prometheus metrics (prom-client), named after Triton's (nv_inference_* -> kiln_inference_*), with
// `model` and `version` labels. Each server has its own Registry; under node:cluster the primary
// aggregates the workers' registries (see cluster.ts), so /metrics answers for the whole server.

import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** A counter's child for one label set, counting in a plain number until the registry is collected. */
export interface CountingChild {
  inc(n?: number): void;
}

/**
 * Counters incremented on every request. prom-client's own labelled child hashes and validates its
 * labels on every inc(); these children add to a number, and the counter's collect() (run by every
 * registry read, including the cluster aggregation) hands the sums to prom-client.
 */
class DeferredCounter<L extends string> extends Counter<L> {
  readonly #children = new Map<string, { labels: Partial<Record<L, string>>; pending: number }>();

  constructor(config: { name: string; help: string; labelNames: readonly L[]; registers: Registry[] }) {
    super({
      ...config,
      collect() {
        (this as DeferredCounter<L>).flush();
      },
    });
  }

  /** The child of one label set; the same object for the same labels. */
  child(labels: Partial<Record<L, string>>): CountingChild {
    const key = JSON.stringify(labels);
    let state = this.#children.get(key);
    if (state === undefined) {
      state = { labels, pending: 0 };
      this.#children.set(key, state);
    }
    const s = state;
    return {
      inc(n = 1) {
        s.pending += n;
      },
    };
  }

  flush(): void {
    for (const state of this.#children.values()) {
      if (state.pending === 0) continue;
      this.inc(state.labels, state.pending);
      state.pending = 0;
    }
  }
}

/** A histogram's child for one label set, counting into its own buckets until the registry is collected. */
export interface ObservingChild {
  observe(value: number): void;
}

/** Pending observations of one label set: per-bucket counts (the last slot: above every bound). */
interface HistogramState<L extends string> {
  labels: Partial<Record<L, string>>;
  counts: Float64Array;
  sum: number;
  count: number;
  /** prom-client's key of this label set in hashMap, known after the first flush. */
  hash: string | null;
}

/** prom-client's per-label-set record (Histogram#hashMap values; not in its typings). */
interface PromHistogramEntry {
  labels: object;
  bucketValues: Record<number, number>;
  sum: number;
  count: number;
}

/**
 * Histograms observed on every request. prom-client's labelled child hashes and validates its
 * labels and looks up its record on every observe() (~1.2 µs, bench/dev/metrics-ops.mjs); these
 * children find the bucket and add to their own counts, and the histogram's collect() adds the
 * counts into prom-client's record of the label set, so its text and cluster aggregation are
 * prom-client's own.
 */
class DeferredHistogram<L extends string> extends Histogram<L> {
  readonly #children = new Map<string, HistogramState<L>>();
  readonly #bounds: readonly number[];
  readonly #name: string;

  constructor(config: { name: string; help: string; labelNames: readonly L[]; buckets: number[]; registers: Registry[] }) {
    super({
      ...config,
      collect() {
        (this as DeferredHistogram<L>).flush();
      },
    });
    this.#bounds = config.buckets;
    this.#name = config.name;
  }

  /** The child of one label set; children of equal labels share their counts. */
  child(labels: Partial<Record<L, string>>): ObservingChild {
    const key = JSON.stringify(labels);
    let state = this.#children.get(key);
    if (state === undefined) {
      state = { labels, counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0, hash: null };
      this.#children.set(key, state);
    }
    const s = state;
    const bounds = this.#bounds;
    const n = bounds.length;
    return {
      observe(value: number) {
        // prom-client's rule: the first bucket whose upper bound is >= the value.
        let i = 0;
        while (i < n && value > (bounds[i] as number)) i++;
        (s.counts as Float64Array)[i]! += 1;
        s.sum += value;
        s.count += 1;
      },
    };
  }

  flush(): void {
    const map = (this as unknown as { hashMap: Record<string, PromHistogramEntry> }).hashMap;
    for (const state of this.#children.values()) {
      if (state.count === 0) continue;
      let entry = state.hash === null ? undefined : map[state.hash];
      if (entry === undefined) {
        // zero() creates the label set's record (public API); it is found again by its labels
        // object, which prom-client keeps by reference. Also after a reset() emptied hashMap.
        this.zero(state.labels);
        state.hash = Object.keys(map).find((k) => map[k]?.labels === state.labels) ?? null;
        entry = state.hash === null ? undefined : map[state.hash];
        if (entry === undefined) throw new Error(`prom-client histogram ${this.#name}: no record for ${JSON.stringify(state.labels)}`);
      }
      // Values above the last bound are in count only (prom-client's +Inf bucket is the count).
      for (let i = 0; i < this.#bounds.length; i++) entry.bucketValues[this.#bounds[i] as number]! += state.counts[i] as number;
      entry.sum += state.sum;
      entry.count += state.count;
      state.counts.fill(0);
      state.sum = 0;
      state.count = 0;
    }
  }
}

const DURATION_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class ServerMetrics {
  readonly registry: Registry;
  /** Inference requests answered 2xx, per model version (nv_inference_request_success). */
  readonly requestSuccess: DeferredCounter<'model' | 'version'>;
  /** Inference requests that failed (any 4xx/5xx after routing to a model), with the error code. */
  readonly requestFailure: Counter<'model' | 'version' | 'code'>;
  /** Rows predicted (nv_inference_count). */
  readonly inferenceCount: DeferredCounter<'model' | 'version'>;
  /** Engine calls (nv_inference_exec_count): rows / calls is the mean batch size. */
  readonly execCount: DeferredCounter<'model' | 'version'>;
  /** Whole inference request, from routing to the serialised response (seconds). */
  readonly requestDuration: DeferredHistogram<'model' | 'version'>;
  /** The engine call alone, including encoding and decoding (seconds). */
  readonly computeDuration: DeferredHistogram<'model' | 'version'>;
  readonly cacheHits: DeferredCounter<'model' | 'version'>;
  readonly cacheMisses: DeferredCounter<'model' | 'version'>;
  /** Every HTTP response, by route pattern and status (including non-inference routes). */
  readonly httpResponses: DeferredCounter<'method' | 'route' | 'status'>;
  readonly modelLoads: Counter<'model' | 'version' | 'outcome'>;

  constructor() {
    const registry = new Registry();
    this.registry = registry;
    const registers = [registry];
    collectDefaultMetrics({ register: registry, prefix: 'kiln_process_' });
    const perModel = ['model', 'version'] as const;
    this.requestSuccess = new DeferredCounter({ name: 'kiln_inference_request_success', help: 'Inference requests answered successfully', labelNames: perModel, registers });
    this.requestFailure = new Counter({
      name: 'kiln_inference_request_failure',
      help: 'Inference requests that failed, by error code',
      labelNames: [...perModel, 'code'],
      registers,
    });
    this.inferenceCount = new DeferredCounter({ name: 'kiln_inference_count', help: 'Rows predicted', labelNames: perModel, registers });
    this.execCount = new DeferredCounter({ name: 'kiln_inference_exec_count', help: 'Engine calls (one per request batch)', labelNames: perModel, registers });
    this.requestDuration = new DeferredHistogram({
      name: 'kiln_inference_request_duration_seconds',
      help: 'Inference request duration, from routing to the serialised response',
      labelNames: perModel,
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.computeDuration = new DeferredHistogram({
      name: 'kiln_inference_compute_duration_seconds',
      help: 'Engine time per request: encoding, predicting and decoding the batch',
      labelNames: perModel,
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.cacheHits = new DeferredCounter({ name: 'kiln_cache_num_hits_per_model', help: 'Responses served from the response cache', labelNames: perModel, registers });
    this.cacheMisses = new DeferredCounter({ name: 'kiln_cache_num_misses_per_model', help: 'Cacheable requests not found in the response cache', labelNames: perModel, registers });
    this.httpResponses = new DeferredCounter({
      name: 'kiln_http_responses',
      help: 'HTTP responses by route pattern and status code',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.modelLoads = new Counter({
      name: 'kiln_model_loads',
      help: 'Model (re)loads by outcome (loaded, refused)',
      labelNames: [...perModel, 'outcome'],
      registers,
    });
  }
}
