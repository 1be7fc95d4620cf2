import assert from "node:assert/strict";
import { blockHashes, createBlockPool, hashBlock, ROOT_HASH, saltHash } from "./block_pool.ts";

const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

/** Allocates blocks for a sequence, commits its full blocks, frees it: what a finished request leaves. */
function fill(pool: ReturnType<typeof createBlockPool>, tokens: number[], root = ROOT_HASH): number[] {
  const hashes = blockHashes(tokens, pool.block_size, root);
  const blocks = pool.allocate(Math.ceil(tokens.length / pool.block_size))!;
  hashes.forEach((h, i) => pool.cache(blocks[i], h));
  pool.free(blocks);
  return blocks;
}

Deno.test("block 0 is reserved: usable blocks are num_gpu_blocks - 1", () => {
  const pool = createBlockPool({ num_gpu_blocks: 5, block_size: 16, enable_prefix_caching: true });
  assert.equal(pool.usable_blocks, 4);
  const got = pool.allocate(4)!;
  assert.ok(!got.includes(0));
  assert.equal(pool.allocate(1), undefined);
  assert.equal(pool.usage(), 1);
});

Deno.test("the hash chain depends on the parent: same block tokens after a different prefix differ", () => {
  const a = blockHashes([...ids(16), ...ids(16, 100)], 16);
  const b = blockHashes([...ids(16, 50), ...ids(16, 100)], 16);
  assert.notEqual(a[1], b[1]);
  assert.equal(hashBlock(ROOT_HASH, ids(16), 0, 16), a[0]);
  assert.notEqual(blockHashes(ids(16), 16, saltHash("s1"))[0], a[0]);
  assert.ok(Number.isSafeInteger(a[1]));
});

Deno.test("a repeated prompt hits only full blocks and never the last token", () => {
  const pool = createBlockPool({ num_gpu_blocks: 64, block_size: 16, enable_prefix_caching: true });
  for (const [n, want] of [[40, 32], [48, 32], [49, 48], [16, 0], [17, 16]]) {
    const tokens = ids(n, n * 1000);
    fill(pool, tokens);
    const hits = pool.findCachedPrefix(blockHashes(tokens, 16), n);
    assert.equal(hits.length * 16, want, `prompt of ${n} tokens`);
  }
  assert.deepEqual(pool.counters(), {
    queries_tokens: 40 + 48 + 49 + 16 + 17,
    hits_tokens: 32 + 32 + 48 + 16,
  });
});

Deno.test("with caching off nothing is cached, hit or counted", () => {
  const pool = createBlockPool({ num_gpu_blocks: 64, block_size: 16, enable_prefix_caching: false });
  fill(pool, ids(64));
  assert.equal(pool.numCached(), 0);
  assert.deepEqual(pool.findCachedPrefix(blockHashes(ids(64), 16), 64), []);
  assert.deepEqual(pool.counters(), { queries_tokens: 0, hits_tokens: 0 });
});

Deno.test("freed blocks stay cached and are evicted LRU first, a request's tail blocks before its head", () => {
  const pool = createBlockPool({ num_gpu_blocks: 9, block_size: 4, enable_prefix_caching: true });
  const a = ids(16, 0); // 4 blocks
  const b = ids(16, 100); // 4 blocks
  fill(pool, a);
  fill(pool, b);
  assert.equal(pool.numCached(), 8);
  assert.equal(pool.usage(), 0);
  // a was freed first: its blocks are the LRU ones; its tail block goes first.
  pool.allocate(1);
  const ha = blockHashes(a, 4);
  assert.equal(pool.findCachedPrefix(ha, 17, false).length, 3, "a lost only its last block");
  pool.allocate(3);
  assert.equal(pool.findCachedPrefix(ha, 17, false).length, 0);
  assert.equal(pool.findCachedPrefix(blockHashes(b, 4), 17, false).length, 4, "b untouched");
});

Deno.test("a hit takes the block off the free list so it cannot be evicted while in use", () => {
  const pool = createBlockPool({ num_gpu_blocks: 5, block_size: 4, enable_prefix_caching: true });
  const a = ids(8);
  fill(pool, a);
  const hits = pool.findCachedPrefix(blockHashes(a, 4), 9);
  assert.equal(hits.length, 2);
  assert.equal(pool.countUnreferenced(hits), 2);
  pool.touch(hits);
  assert.equal(pool.numFree(), 2);
  pool.allocate(2);
  assert.equal(pool.allocate(1), undefined);
  assert.equal(pool.findCachedPrefix(blockHashes(a, 4), 9, false).length, 2);
});

Deno.test("reset refuses while blocks are in use and clears the cache when idle", () => {
  const pool = createBlockPool({ num_gpu_blocks: 16, block_size: 4, enable_prefix_caching: true });
  fill(pool, ids(20));
  const held = pool.allocate(1)!;
  assert.equal(pool.reset(), false);
  assert.ok(pool.numCached() > 0);
  pool.free(held);
  assert.equal(pool.reset(), true);
  assert.equal(pool.numCached(), 0);
  assert.equal(pool.findCachedPrefix(blockHashes(ids(20), 4), 20).length, 0);
});

Deno.test("double free and bad sizes are refused with a message", () => {
  const pool = createBlockPool({ num_gpu_blocks: 4, block_size: 4, enable_prefix_caching: true });
  const b = pool.allocate(1)!;
  pool.free(b);
  assert.throws(() => pool.free(b), /double free/);
  assert.throws(
    () => createBlockPool({ num_gpu_blocks: 1, block_size: 16, enable_prefix_caching: true }),
    />= 2/,
  );
  assert.throws(
    () => createBlockPool({ num_gpu_blocks: 8, block_size: 0, enable_prefix_caching: true }),
    /16/,
  );
});
