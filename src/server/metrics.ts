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
  readonly requestDuration: Histogram<'model' | 'version'>;
  /** The engine call alone, including encoding and decoding (seconds). */
  readonly computeDuration: Histogram<'model' | 'version'>;
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
    this.requestDuration = new Histogram({
      name: 'kiln_inference_request_duration_seconds',
      help: 'Inference request duration, from routing to the serialised response',
      labelNames: perModel,
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.computeDuration = new Histogram({
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
