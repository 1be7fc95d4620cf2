/**
 * A small safetensors writer and reader (F32 only): 8-byte little-endian header length, a JSON header
 * naming each tensor's dtype, shape and byte range, padded with spaces to 8 bytes, then the raw
 * little-endian data. The format is documented by Hugging Face's `safetensors` project.
 * @module
 */

/** One tensor to write: its name (the HF parameter name), shape and values. */
export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** One tensor's entry in a safetensors header. */
export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** [start, end) byte offsets, relative to the start of the data section. */
  data_offsets: [number, number];
}

/** A parsed safetensors file: its entries, metadata and where the data section starts. */
export interface SafetensorsFile {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  data_start: number;
}

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1 };

/**
 * Serialises tensors as one safetensors file (F32, in the order given).
 *
 * @example
 * ```ts
 * const bytes = encodeSafetensors([{ name: "w", shape: [2], data: new Float32Array([1, 2]) }]);
 * parseSafetensors(bytes).entries[0].shape; // [2]
 * ```
 */
export function encodeSafetensors(
  tensors: NamedTensor[],
  metadata: Record<string, string> = { format: "pt" },
): Uint8Array<ArrayBuffer> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new RangeError(
        `Tensor ${t.name} has shape [${t.shape}] (${n} values) but ${t.data.length} values; fix the shape or the data.`,
      );
    }
    if (t.name in header) {
      throw new RangeError(`Tensor name ${t.name} appears twice; tensor names must be unique.`);
    }
    header[t.name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + n * 4] };
    offset += n * 4;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + json.length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors) {
    for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i], true);
  }
  return out;
}

/**
 * Parses a safetensors file's header and checks it: known dtypes, sizes matching shapes, byte ranges
 * contiguous from 0 and ending at the end of the file.
 *
 * @example
 * ```ts
 * const file = parseSafetensors(await Deno.readFile("model.safetensors"));
 * file.entries.map((e) => e.name);
 * ```
 */
export function parseSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.length < 8) {
    throw new RangeError(`Safetensors input has ${bytes.length} bytes; a file needs at least 8.`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (8 + headerLen > bytes.length) {
    throw new RangeError(
      `Safetensors header length ${headerLen} runs past the file's ${bytes.length} bytes.`,
    );
  }
  const raw = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as Record<
    string,
    unknown
  >;
  const metadata = (raw.__metadata__ ?? {}) as Record<string, string>;
  const entries: SafetensorsEntry[] = Object.entries(raw).filter(([k]) => k !== "__metadata__").map(
    ([name, v]) => {
      const e = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
      return { name, dtype: e.dtype, shape: e.shape, data_offsets: e.data_offsets };
    },
  );
  const dataStart = 8 + headerLen;
  let expected = 0;
  for (const e of [...entries].sort((a, b) => a.data_offsets[0] - b.data_offsets[0])) {
    const width = DTYPE_BYTES[e.dtype];
    if (width === undefined) throw new RangeError(`Tensor ${e.name} has unknown dtype ${e.dtype}.`);
    const size = e.shape.reduce((a, b) => a * b, 1) * width;
    if (e.data_offsets[0] !== expected || e.data_offsets[1] - e.data_offsets[0] !== size) {
      throw new RangeError(
        `Tensor ${e.name} has data_offsets [${e.data_offsets}] but shape [${e.shape}] ${e.dtype} needs ` +
          `[${expected}, ${expected + size}]; the file is corrupt or was written by a different layout.`,
      );
    }
    expected += size;
  }
  if (dataStart + expected !== bytes.length) {
    throw new RangeError(
      `Safetensors data ends at byte ${dataStart + expected} but the file has ${bytes.length} bytes.`,
    );
  }
  return { entries, metadata, data_start: dataStart };
}

/**
 * One F32 tensor's values read back from a safetensors file.
 *
 * @example
 * ```ts
 * readTensorF32(bytes, "model.norm.weight")[0]; // 1
 * ```
 */
export function readTensorF32(bytes: Uint8Array, name: string): Float32Array {
  const file = parseSafetensors(bytes);
  const e = file.entries.find((x) => x.name === name);
  if (!e) throw new RangeError(`Tensor ${name} is not in the file; it has ${file.entries.length} tensors.`);
  if (e.dtype !== "F32") throw new RangeError(`Tensor ${name} is ${e.dtype}; readTensorF32 reads F32 only.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + file.data_start + e.data_offsets[0]);
  const out = new Float32Array((e.data_offsets[1] - e.data_offsets[0]) / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
