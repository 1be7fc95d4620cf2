/**
 * lib/probe/testing: test seams, for tests and benches only (never in lib/mod.ts). The dial server, an
 * in-process OpenAI-compatible stub whose latencies are dialled in and which records its ground truth
 * (dial_server), and the same server in a process of its own (dial_process), so a client's lag cannot
 * delay the server's clock.
 * @module
 */
export {
  type Dial,
  type DialFault,
  type DialRequest,
  type DialServer,
  dialServer,
  type DialServerOptions,
  type GroundTruth,
  tokenText,
} from "./dial_server.ts";
export { type DialProcess, dialProcess, type DialProcessSettings, firstLine } from "./dial_process.ts";
export { renameMetrics, type ServerShape, type ShapeProxy, shapeProxy, SHAPES } from "./shape_proxy.ts";
