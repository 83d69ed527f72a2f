// Response cache: one LRU (lru-cache) per loaded model version, holding serialised response
// bodies keyed by the route kind and the exact request body (its text, or its bytes for the
// routes that keep the raw Buffer). Bounded by entries and by bytes.
// A reload creates a new model entry with a new, empty cache: nothing stale can be served.

import { createHash } from 'node:crypto';

import { LRUCache } from 'lru-cache';

import type { CacheConfig } from './config.js';

/** Keys longer than this are replaced by a SHA-256 digest (V8 hashes long strings poorly). */
const HASH_KEYS_LONGER_THAN = 2048;

export class ResponseCache {
  readonly #lru: LRUCache<string, string>;

  constructor(config: CacheConfig) {
    this.#lru = new LRUCache<string, string>({
      max: config.maxEntries,
      maxSize: config.maxBytes,
      // UTF-16 code units, two bytes each, for the key and the value.
      sizeCalculation: (value, key) => 2 * (value.length + key.length) + 64,
    });
  }

  /**
   * The cache key of a request body for one route kind ('v2', 'v1', 'predict'). A Buffer is
   * keyed by its bytes (latin1 maps each byte to one character: no UTF-8 decoding, and distinct
   * bytes give distinct keys); a route kind always passes the same type.
   */
  static key(kind: string, body: string | Buffer): string {
    if (body.length <= HASH_KEYS_LONGER_THAN) return `${kind}\u0000${typeof body === 'string' ? body : body.toString('latin1')}`;
    return `${kind}\u0001${body.length}:${createHash('sha256').update(body).digest('base64')}`;
  }

  get(key: string): string | undefined {
    return this.#lru.get(key);
  }

  set(key: string, response: string): void {
    // Entries bigger than the whole cache are refused by lru-cache itself; nothing to do here.
    this.#lru.set(key, response);
  }

  get size(): number {
    return this.#lru.size;
  }

  clear(): void {
    this.#lru.clear();
  }
}
