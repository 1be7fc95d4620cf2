/**
 * A small GGUF (version 3) writer and reader, F32 tensors only: what llama.cpp loads.
 *
 * Layout (little-endian; ggml's docs/gguf.md): magic `GGUF`, version u32, tensor count u64, key-value
 * count u64; the key-values (key as a u64-length string, a u32 value type, the value; arrays are an item
 * type u32, a count u64 and the items); the tensor infos (name, n_dims u32, dims u64 each with the
 * fastest-varying dimension first, ggml type u32, data offset u64 relative to the data section); padding
 * to `general.alignment` (32 by default); the data section, each tensor starting at a multiple of the
 * alignment.
 * @module
 */

/** GGUF's metadata value types, by their wire number. */
export const GGUF_VALUE_TYPE = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;

/** A scalar value type (every type but `array`). */
export type GgufScalarKind = Exclude<keyof typeof GGUF_VALUE_TYPE, "array">;
/** One scalar item. */
export type GgufScalar = number | string | boolean;

/** A metadata value: a scalar of a kind, or an array of scalars of one kind. */
export type GgufValue =
  | { kind: GgufScalarKind; value: GgufScalar }
  | { kind: "array"; item: GgufScalarKind; values: GgufScalar[] };

/** ggml's tensor type number for float32 (the only type this module writes and reads back). */
export const GGML_TYPE_F32 = 0;
/** The alignment GGUF assumes when `general.alignment` is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32

/** A tensor to write: GGUF name, shape in PyTorch order (slowest dimension first), F32 values. */
export interface GgufTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** One tensor info as read back. */
export interface GgufTensorInfo {
  name: string;
  /** ggml's `ne`: fastest-varying dimension first (the reverse of the PyTorch shape). */
  dims: number[];
  /** ggml type number (0 = F32). */
  type: number;
  /** Byte offset of the data, relative to the data section. */
  offset: number;
}

/** A parsed GGUF file (the tensor data stays in the bytes; see {@link readGgufTensorF32}). */
export interface GgufFile {
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute byte offset of the data section. */
  data_start: number;
}

const SCALAR_BYTES: Record<Exclude<GgufScalarKind, "string">, number> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  bool: 1,
  uint64: 8,
  int64: 8,
  float64: 8,
};
const KIND_OF = Object.fromEntries(Object.entries(GGUF_VALUE_TYPE).map(([k, v]) => [v, k])) as Record<
  number,
  keyof typeof GGUF_VALUE_TYPE
>;

/** A growable little-endian byte buffer. */
class ByteWriter {
  #buf = new Uint8Array(1 << 16);
  #view = new DataView(this.#buf.buffer);
  length = 0;

  #reserve(n: number): DataView {
    if (this.length + n > this.#buf.length) {
      let size = this.#buf.length * 2;
      while (size < this.length + n) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.#buf.subarray(0, this.length));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    }
    return this.#view;
  }
  scalar(kind: Exclude<GgufScalarKind, "string">, v: GgufScalar): void {
    const view = this.#reserve(8);
    const at = this.length;
    const n = Number(v);
    switch (kind) {
      case "uint8":
        view.setUint8(at, n);
        break;
      case "int8":
        view.setInt8(at, n);
        break;
      case "bool":
        view.setUint8(at, v ? 1 : 0);
        break;
      case "uint16":
        view.setUint16(at, n, true);
        break;
      case "int16":
        view.setInt16(at, n, true);
        break;
      case "uint32":
        view.setUint32(at, n, true);
        break;
      case "int32":
        view.setInt32(at, n, true);
        break;
      case "float32":
        view.setFloat32(at, n, true);
        break;
      case "uint64":
        view.setBigUint64(at, BigInt(n), true);
        break;
      case "int64":
        view.setBigInt64(at, BigInt(n), true);
        break;
      case "float64":
        view.setFloat64(at, n, true);
        break;
      default: {
        const never: never = kind;
        throw new Error(`Unknown GGUF scalar kind ${never}`);
      }
    }
    this.length += SCALAR_BYTES[kind];
  }
  string(s: string): void {
    const bytes = new TextEncoder().encode(s);
    this.scalar("uint64", bytes.length);
    this.bytes(bytes);
  }
  bytes(b: Uint8Array): void {
    this.#reserve(b.length);
    this.#buf.set(b, this.length);
    this.length += b.length;
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    this.#reserve(pad);
    this.#buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }
  f32s(data: Float32Array): void {
    const view = this.#reserve(data.length * 4);
    for (let i = 0; i < data.length; i++) view.setFloat32(this.length + i * 4, data[i], true);
    this.length += data.length * 4;
  }
  done(): Uint8Array<ArrayBuffer> {
    return this.#buf.slice(0, this.length);
  }
}

function writeItem(w: ByteWriter, kind: GgufScalarKind, v: GgufScalar, key: string): void {
  if (kind === "string") {
    if (typeof v !== "string") throw new TypeError(`GGUF key ${key}: a string item is ${typeof v}.`);
    w.string(v);
  } else {
    if (kind === "bool" ? typeof v !== "boolean" : typeof v !== "number" || !Number.isFinite(v)) {
      throw new TypeError(`GGUF key ${key}: a ${kind} item is ${JSON.stringify(v)}; give a finite number.`);
    }
    w.scalar(kind, v);
  }
}

/**
 * Serialises metadata and F32 tensors as one GGUF v3 file. `general.alignment` from the metadata is
 * honoured (default 32).
 *
 * @example
 * ```ts
 * const bytes = encodeGguf(new Map([["general.architecture", { kind: "string", value: "llama" }]]), [
 *   { name: "output_norm.weight", shape: [4], data: new Float32Array(4).fill(1) },
 * ]);
 * parseGguf(bytes).tensors[0].dims; // [4]
 * ```
 */
export function encodeGguf(metadata: Map<string, GgufValue>, tensors: GgufTensor[]): Uint8Array<ArrayBuffer> {
  const alignmentValue = metadata.get("general.alignment");
  const alignment = alignmentValue?.kind === "uint32" ? Number(alignmentValue.value) : GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
    throw new RangeError(
      `GGUF general.alignment ${alignment} must be a positive multiple of 8 (default 32).`,
    );
  }
  const w = new ByteWriter();
  w.scalar("uint32", MAGIC);
  w.scalar("uint32", 3);
  w.scalar("uint64", tensors.length);
  w.scalar("uint64", metadata.size);
  for (const [key, v] of metadata) {
    w.string(key);
    w.scalar("uint32", GGUF_VALUE_TYPE[v.kind]);
    if (v.kind === "array") {
      w.scalar("uint32", GGUF_VALUE_TYPE[v.item]);
      w.scalar("uint64", v.values.length);
      for (const item of v.values) writeItem(w, v.item, item, key);
    } else writeItem(w, v.kind, v.value, key);
  }
  const names = new Set<string>();
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new RangeError(
        `Tensor ${t.name} has shape [${t.shape}] (${n} values) but ${t.data.length} values; fix the shape or the data.`,
      );
    }
    if (names.has(t.name)) throw new RangeError(`Tensor name ${t.name} appears twice; names must be unique.`);
    names.add(t.name);
    w.string(t.name);
    w.scalar("uint32", t.shape.length);
    for (const d of [...t.shape].reverse()) w.scalar("uint64", d);
    w.scalar("uint32", GGML_TYPE_F32);
    w.scalar("uint64", offset);
    offsets.push(offset);
    offset += Math.ceil((n * 4) / alignment) * alignment;
  }
  w.padTo(alignment);
  const dataStart = w.length;
  tensors.forEach((t, i) => {
    w.padTo(alignment);
    if (w.length - dataStart !== offsets[i]) throw new Error(`GGUF writer misplaced tensor ${t.name}`);
    w.f32s(t.data);
  });
  w.padTo(alignment);
  return w.done();
}

/** A little-endian cursor over bytes, failing with the offset when the file ends early. */
class ByteReader {
  at = 0;
  readonly #view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  #need(n: number, what: string): number {
    if (this.at + n > this.bytes.length) {
      throw new RangeError(
        `GGUF input ends at byte ${this.bytes.length} while reading ${what} at byte ${this.at}; the file is truncated.`,
      );
    }
    const at = this.at;
    this.at += n;
    return at;
  }
  scalar(kind: Exclude<GgufScalarKind, "string">, what: string): GgufScalar {
    const at = this.#need(SCALAR_BYTES[kind], what);
    const v = this.#view;
    switch (kind) {
      case "uint8":
        return v.getUint8(at);
      case "int8":
        return v.getInt8(at);
      case "bool":
        return v.getUint8(at) !== 0;
      case "uint16":
        return v.getUint16(at, true);
      case "int16":
        return v.getInt16(at, true);
      case "uint32":
        return v.getUint32(at, true);
      case "int32":
        return v.getInt32(at, true);
      case "float32":
        return v.getFloat32(at, true);
      case "uint64":
        return safe(v.getBigUint64(at, true), what);
      case "int64":
        return safe(v.getBigInt64(at, true), what);
      case "float64":
        return v.getFloat64(at, true);
      default: {
        const never: never = kind;
        throw new Error(`Unknown GGUF scalar kind ${never}`);
      }
    }
  }
  u32(what: string): number {
    return this.scalar("uint32", what) as number;
  }
  u64(what: string): number {
    return this.scalar("uint64", what) as number;
  }
  string(what: string): string {
    const n = this.u64(`${what} length`);
    const at = this.#need(n, what);
    return new TextDecoder("utf-8", { fatal: true }).decode(this.bytes.subarray(at, at + n));
  }
  item(kind: GgufScalarKind, what: string): GgufScalar {
    return kind === "string" ? this.string(what) : this.scalar(kind, what);
  }
}

function safe(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`GGUF ${what} is ${v}, beyond what this reader handles (2^53).`);
  }
  return Number(v);
}

function kindOf(n: number, what: string): keyof typeof GGUF_VALUE_TYPE {
  const kind = KIND_OF[n];
  if (kind === undefined) throw new RangeError(`GGUF ${what} has unknown value type ${n}.`);
  return kind;
}

/** The header and the metadata of a GGUF file (everything before the tensor infos). */
function readHead(r: ByteReader): { version: number; tensorCount: number; metadata: Map<string, GgufValue> } {
  const magic = r.u32("the magic");
  if (magic !== MAGIC) {
    throw new RangeError(
      `GGUF input starts with 0x${magic.toString(16)}, not the magic "GGUF"; this is not a GGUF file.`,
    );
  }
  const version = r.u32("the version");
  if (version !== 3) {
    throw new RangeError(`GGUF version ${version} is not supported; this reader reads version 3.`);
  }
  const tensorCount = r.u64("the tensor count");
  const kvCount = r.u64("the key-value count");
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = r.string(`key ${i}`);
    const kind = kindOf(r.u32(`the type of ${key}`), key);
    if (kind === "array") {
      const item = kindOf(r.u32(`the item type of ${key}`), key);
      if (item === "array") throw new RangeError(`GGUF key ${key} is an array of arrays; not supported.`);
      const n = r.u64(`the length of ${key}`);
      const values: GgufScalar[] = new Array(n);
      for (let j = 0; j < n; j++) values[j] = r.item(item, `${key}[${j}]`);
      metadata.set(key, { kind, item, values });
    } else metadata.set(key, { kind, value: r.item(kind, key) });
  }
  return { version, tensorCount, metadata };
}

/**
 * The metadata of a GGUF file from its first bytes (a prefix of the file is enough: the tensor data is not
 * read), e.g. to learn a model's shape without reading gigabytes of weights.
 *
 * @example
 * ```ts
 * parseGgufMetadata(bytes).get("llama.block_count"); // { kind: "uint32", value: 2 }
 * ```
 */
export function parseGgufMetadata(bytes: Uint8Array): Map<string, GgufValue> {
  return readHead(new ByteReader(bytes)).metadata;
}

/**
 * Parses a GGUF file's header, metadata and tensor infos, and checks them: magic, version 3, known value
 * types, tensor offsets aligned and inside the file.
 *
 * @example
 * ```ts
 * const file = parseGguf(await Deno.readFile("tiny.gguf"));
 * file.metadata.get("general.architecture"); // { kind: "string", value: "llama" }
 * ```
 */
export function parseGguf(bytes: Uint8Array): GgufFile {
  const r = new ByteReader(bytes);
  const { version, tensorCount, metadata } = readHead(r);
  const alignmentValue = metadata.get("general.alignment");
  const alignment = alignmentValue && alignmentValue.kind !== "array"
    ? Number(alignmentValue.value)
    : GGUF_DEFAULT_ALIGNMENT;
  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = r.string(`tensor ${i}'s name`);
    const nDims = r.u32(`${name}'s n_dims`);
    const dims = Array.from({ length: nDims }, (_, d) => r.u64(`${name}'s dim ${d}`));
    const type = r.u32(`${name}'s type`);
    const offset = r.u64(`${name}'s offset`);
    if (offset % alignment !== 0) {
      throw new RangeError(`GGUF tensor ${name} starts at offset ${offset}, not a multiple of ${alignment}.`);
    }
    tensors.push({ name, dims, type, offset });
  }
  const dataStart = Math.ceil(r.at / alignment) * alignment;
  for (const t of tensors) {
    const end = dataStart + t.offset + (t.type === GGML_TYPE_F32 ? t.dims.reduce((a, b) => a * b, 1) * 4 : 0);
    if (end > bytes.length) {
      throw new RangeError(
        `GGUF tensor ${t.name} ends at byte ${end}, past the file's ${bytes.length} bytes.`,
      );
    }
  }
  return { version, metadata, tensors, alignment, data_start: dataStart };
}

/**
 * One F32 tensor's values read back from a parsed GGUF file.
 *
 * @example
 * ```ts
 * readGgufTensorF32(bytes, parseGguf(bytes), "output_norm.weight")[0]; // 1
 * ```
 */
export function readGgufTensorF32(bytes: Uint8Array, file: GgufFile, name: string): Float32Array {
  const t = file.tensors.find((x) => x.name === name);
  if (!t) {
    throw new RangeError(`Tensor ${name} is not in the GGUF file; it has ${file.tensors.length} tensors.`);
  }
  if (t.type !== GGML_TYPE_F32) {
    throw new RangeError(`Tensor ${name} has ggml type ${t.type}; only F32 (0) is read.`);
  }
  const n = t.dims.reduce((a, b) => a * b, 1);
  const view = new DataView(bytes.buffer, bytes.byteOffset + file.data_start + t.offset, n * 4);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
