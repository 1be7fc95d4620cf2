/**
 * Paged KV blocks with automatic prefix caching, as vLLM V1's `BlockPool` and `KVCacheManager` do it
 * (shared/reference/vllm.md §5):
 * - block 0 is the reserved null block, so `num_gpu_blocks - 1` blocks are usable;
 * - a full block is identified by a hash chain: hash(parent block hash, the block's token ids), the
 *   first block's parent being the root (0, or a hash of the request's cache_salt);
 * - blocks carry reference counts; a block whose count drops to 0 goes to the tail of a free list in
 *   LRU order and keeps its hash (it stays cached) until allocation pops it from the head (eviction);
 *   a request's blocks are freed tail first, so its last blocks are evicted first;
 * - a hit takes a reference on the cached block and removes it from the free list.
 *
 * @example
 * ```ts
 * import { blockHashes, createBlockPool } from "./block_pool.ts";
 * const pool = createBlockPool({ num_gpu_blocks: 8, block_size: 16, enable_prefix_caching: true });
 * const hashes = blockHashes(Array.from({ length: 40 }, (_, i) => i), 16);
 * const blocks = pool.allocate(3)!;
 * hashes.forEach((h, i) => pool.cache(blocks[i], h));
 * pool.free(blocks);
 * pool.findCachedPrefix(hashes, 40).length; // 2: both full blocks are still cached
 * ```
 * @module
 */

/** Options of {@link createBlockPool}. */
export interface BlockPoolOptions {
  /** Blocks in the pool, the reserved null block included. */
  num_gpu_blocks: number;
  /** Tokens per block. */
  block_size: number;
  /** When false, nothing is ever cached and lookups miss. */
  enable_prefix_caching: boolean;
}

/** A pool of KV blocks. Block ids are integers in [1, num_gpu_blocks). */
export interface BlockPool {
  readonly num_gpu_blocks: number;
  readonly block_size: number;
  readonly enable_prefix_caching: boolean;
  /** num_gpu_blocks - 1. */
  readonly usable_blocks: number;
  /** Blocks with no reference (cached or not). */
  numFree(): number;
  /** Blocks with a cached hash (in use or free). */
  numCached(): number;
  /** 1 - free / usable: vllm:kv_cache_usage_perc. Cached blocks with no reference count as free. */
  usage(): number;
  /**
   * The longest run of cached blocks matching `hashes` from the start, for a sequence of `num_tokens`
   * tokens: never the block holding the last token (it is always recomputed), so at most
   * floor((num_tokens - 1) / block_size) blocks. Unless `record` is false, adds num_tokens to the
   * queried tokens and the hit tokens to the hit counter (only when caching is on, like vLLM).
   */
  findCachedPrefix(hashes: readonly number[], num_tokens: number, record?: boolean): number[];
  /** Prompt tokens looked up and tokens found (vllm:prefix_cache_queries / _hits). */
  counters(): { queries_tokens: number; hits_tokens: number };
  /** How many of these blocks have no reference (they leave the free list when touched). */
  countUnreferenced(blocks: readonly number[]): number;
  /** Takes a reference on each block (prefix-cache hits). */
  touch(blocks: readonly number[]): void;
  /** Pops `n` blocks from the LRU head (evicting their cached hashes); undefined if fewer are free. */
  allocate(n: number): number[] | undefined;
  /** Drops one reference on each block, tail first; unreferenced blocks join the free list's tail. */
  free(blocks: readonly number[]): void;
  /** Records a full block's hash so later requests can hit it (no-op when caching is off). */
  cache(block: number, hash: number): void;
  /** Forgets every cached hash; refuses (false) while any block is in use, like vLLM. */
  reset(): boolean;
}

/** Parent hash of a request's first block when it has no cache salt. */
export const ROOT_HASH = 0;

const TWO_32 = 4294967296;

function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * The 53-bit hash of one block: hash(parent hash, token ids [start, end)). Two 32-bit lanes, so
 * collisions are negligible for the block counts of one engine (vLLM uses sha256).
 *
 * @example
 * ```ts
 * hashBlock(ROOT_HASH, [1, 2, 3, 4], 0, 4) === hashBlock(ROOT_HASH, [9, 1, 2, 3, 4], 1, 5); // true
 * ```
 */
export function hashBlock(parent: number, ids: readonly number[], start: number, end: number): number {
  let a = (parent >>> 0) ^ 0x9747b28c;
  let b = Math.floor(parent / TWO_32) ^ 0x1b873593;
  for (let i = start; i < end; i++) {
    const t = ids[i];
    a = Math.imul(a ^ t, 0x01000193);
    b = Math.imul(b ^ t, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a = mix32(a ^ (end - start));
  b = mix32(b + a);
  return a * 2097152 + (b >>> 11);
}

/** Root hash for a cache salt (vLLM mixes `cache_salt` into the first block's hash). */
export function saltHash(salt: string | undefined): number {
  if (!salt) return ROOT_HASH;
  const ids = Array.from(salt, (c) => c.codePointAt(0)!);
  return hashBlock(0x5a17, ids, 0, ids.length) || 1;
}

/**
 * Hashes of the full blocks of `ids`, chained from `root`.
 *
 * @example
 * ```ts
 * blockHashes(new Array(40).fill(7), 16).length; // 2: the 8-token tail is not a full block
 * ```
 */
export function blockHashes(ids: readonly number[], block_size: number, root = ROOT_HASH): number[] {
  const out: number[] = [];
  let parent = root;
  for (let s = 0; s + block_size <= ids.length; s += block_size) {
    parent = hashBlock(parent, ids, s, s + block_size);
    out.push(parent);
  }
  return out;
}

/**
 * A pool of `num_gpu_blocks` KV blocks (block 0 reserved) with an LRU free list and a hash table.
 *
 * @example
 * ```ts
 * const pool = createBlockPool({ num_gpu_blocks: 101, block_size: 16, enable_prefix_caching: true });
 * pool.usable_blocks; // 100
 * ```
 */
export function createBlockPool(opts: BlockPoolOptions): BlockPool {
  const { num_gpu_blocks, block_size, enable_prefix_caching } = opts;
  if (!Number.isInteger(num_gpu_blocks) || num_gpu_blocks < 2) {
    throw new Error(
      `Cannot create a block pool of ${num_gpu_blocks} blocks: need an integer >= 2 (block 0 is reserved).`,
    );
  }
  if (!Number.isInteger(block_size) || block_size < 1) {
    throw new Error(
      `Cannot create a block pool with block_size ${block_size}: use a positive integer such as 16.`,
    );
  }
  const N = num_gpu_blocks;
  const HEAD = N; // sentinel of the doubly linked free list
  const prev = new Int32Array(N + 1);
  const next = new Int32Array(N + 1);
  const inFree = new Uint8Array(N);
  const ref = new Int32Array(N);
  const hashOf = new Float64Array(N).fill(NaN);
  const table = new Map<number, number>();
  let free = 0;
  let queries_tokens = 0;
  let hits_tokens = 0;

  const linkTail = (b: number) => {
    const last = prev[HEAD];
    next[last] = b;
    prev[b] = last;
    next[b] = HEAD;
    prev[HEAD] = b;
    inFree[b] = 1;
    free++;
  };
  const unlink = (b: number) => {
    next[prev[b]] = next[b];
    prev[next[b]] = prev[b];
    inFree[b] = 0;
    free--;
  };
  const evict = (b: number) => {
    const h = hashOf[b];
    if (h === h) { // not NaN
      if (table.get(h) === b) table.delete(h);
      hashOf[b] = NaN;
    }
  };

  prev[HEAD] = HEAD;
  next[HEAD] = HEAD;
  for (let b = 1; b < N; b++) linkTail(b);

  const pool: BlockPool = {
    num_gpu_blocks,
    block_size,
    enable_prefix_caching,
    usable_blocks: N - 1,
    numFree: () => free,
    numCached: () => table.size,
    usage: () => 1 - free / (N - 1),
    findCachedPrefix(hashes, num_tokens, record = true) {
      const hits: number[] = [];
      if (!enable_prefix_caching) return hits;
      const n = Math.min(Math.floor((num_tokens - 1) / block_size), hashes.length);
      for (let i = 0; i < n; i++) {
        const b = table.get(hashes[i]);
        if (b === undefined) break;
        hits.push(b);
      }
      if (record) {
        queries_tokens += num_tokens;
        hits_tokens += hits.length * block_size;
      }
      return hits;
    },
    counters: () => ({ queries_tokens, hits_tokens }),
    countUnreferenced(blocks) {
      let n = 0;
      for (const b of blocks) if (ref[b] === 0) n++;
      return n;
    },
    touch(blocks) {
      for (const b of blocks) {
        if (ref[b] === 0 && inFree[b]) unlink(b);
        ref[b]++;
      }
    },
    allocate(n) {
      if (n > free) return undefined;
      const out = new Array<number>(n);
      for (let i = 0; i < n; i++) {
        const b = next[HEAD];
        unlink(b);
        evict(b);
        ref[b] = 1;
        out[i] = b;
      }
      return out;
    },
    free(blocks) {
      for (let i = blocks.length - 1; i >= 0; i--) {
        const b = blocks[i];
        if (ref[b] <= 0) throw new Error(`Cannot free block ${b}: it has no reference (double free).`);
        if (--ref[b] === 0) linkTail(b);
      }
    },
    cache(block, hash) {
      if (!enable_prefix_caching || hashOf[block] === hash) return;
      if (table.has(hash)) return; // another block already holds these tokens
      evict(block);
      hashOf[block] = hash;
      table.set(hash, block);
    },
    reset() {
      if (free !== N - 1) return false;
      table.clear();
      hashOf.fill(NaN);
      return true;
    },
  };
  return pool;
}
