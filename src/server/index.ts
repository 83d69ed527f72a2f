// kiln serve: the HTTP service (Open Inference Protocol V2, KServe V1, friendly predict routes,
// Triton repository API, Prometheus metrics, OpenAPI). See docs/service.md.

export { createServer, KILN_VERSION, type AppHooks, type KilnServer, type LoggerSettings } from './app.js';
export { runServer, runInProcess, type RunningServer } from './cluster.js';
export { resolveConfig, DEFAULT_MODELS_DIR, type ServerConfig, type ServerConfigInput, type CacheConfig, type PressureConfig } from './config.js';
export { ModelRepository, type ModelEntry, type IndexEntry } from './repository.js';
export { MATRIX_INPUT_NAME } from './marshal.js';
