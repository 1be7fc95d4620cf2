import assert from "node:assert/strict";
import { encodeSafetensors, parseSafetensors, readTensorF32 } from "./safetensors.ts";

Deno.test("safetensors: header length, 8-byte padding, offsets and values read back", () => {
  const a = new Float32Array([1.5, -2, 3.25, 0, 7, -0.125]);
  const b = new Float32Array([42]);
  const bytes = encodeSafetensors([{ name: "a", shape: [2, 3], data: a }, {
    name: "b",
    shape: [1],
    data: b,
  }]);
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + headerLen) % 8, 0);
  const file = parseSafetensors(bytes);
  assert.deepEqual(file.metadata, { format: "pt" });
  assert.deepEqual(file.entries.map((e) => [e.name, e.dtype, e.shape, e.data_offsets]), [
    ["a", "F32", [2, 3], [0, 24]],
    ["b", "F32", [1], [24, 28]],
  ]);
  assert.equal(bytes.length, file.data_start + 28);
  assert.deepEqual([...readTensorF32(bytes, "a")], [...a]);
  assert.deepEqual([...readTensorF32(bytes, "b")], [42]);
  // Raw little-endian float32 right after the header.
  assert.equal(new DataView(bytes.buffer).getFloat32(file.data_start, true), 1.5);
});

Deno.test("safetensors: a shape that disagrees with the data is refused, naming the tensor", () => {
  assert.throws(
    () => encodeSafetensors([{ name: "w", shape: [3], data: new Float32Array(2) }]),
    /Tensor w has shape \[3\]/,
  );
});

Deno.test("safetensors: a truncated file is refused by the reader", () => {
  const bytes = encodeSafetensors([{ name: "w", shape: [4], data: new Float32Array(4) }]);
  assert.throws(() => parseSafetensors(bytes.subarray(0, bytes.length - 4)), /file has/);
});
