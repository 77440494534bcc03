import { Ajv } from 'ajv';
import type { PauseReason } from './events.js';

/**
 * What an encoder node says about itself, every few seconds and whenever its pause state
 * changes. It is current state, not history, so it lives in a JetStream key-value bucket
 * ({@link NODES_BUCKET}, one key per node) rather than the event log: the last value is what
 * counts and the bucket's age limit forgets nodes that are long gone. Readers tolerate unknown
 * fields; an incompatible shape is a new `version`.
 */
export interface NodeHeartbeat {
  version: 1;
  /** The node's name, e.g. `encoder@nas`. */
  node: string;
  host: string;
  /** `running` while it works; `stopped` is its last word on a clean stop. */
  state: 'running' | 'stopped';
  /** One entry per device kind it encodes on. */
  devices: NodeDevice[];
  /** Whether it pulls new work; `pauseReasons` says why not. */
  paused: boolean;
  pauseReasons: PauseReason[];
  /** Encodes running on the node now. */
  running: number;
  /** ISO-8601: when the node started, and when it wrote this. */
  startedAt: string;
  time: string;
  /** Seconds to the next heartbeat: a reader counts a node silent for 3 intervals as lost. */
  intervalSec: number;
  /** Work pools it takes jobs from (`gpu-hevc`, `cpu-hevc`, …); optional: older nodes omit it. */
  pools?: string[];
  /** GPU pools it takes from only after the CPU fallback wait. */
  fallbackPools?: string[];
  /** Canonical library roots it reaches (its start-up check passed). */
  libraries?: string[];
  /**
   * Size classes of work it takes (`1g`, `4g`, …, `any`): a job is queued in the class of its
   * source's size. Absent: a node of before size classes (it takes none of their subjects).
   */
  sizeClasses?: string[];
  /** Its maximum file size in bytes (`--max-file-size`), when it has one. */
  maxFileSizeBytes?: number;
}

/** One device kind of a node: the encoders it runs there and its slots. */
export interface NodeDevice {
  /** `cpu`, `nvenc`, `qsv` or `vaapi`. */
  backend: string;
  /** ffmpeg encoders that passed the node's trial encode, e.g. `hevc_nvenc`. */
  encoders: string[];
  slots: number;
  inUse: number;
}

/** The key-value bucket encoder nodes write their heartbeats to. */
export const NODES_BUCKET = 'conform-nodes';

/** The bucket key of a node (KV keys allow `[-_=/.A-Za-z0-9]`; a node name has `@`). */
export function nodeKeyFor(node: string): string {
  return node.replace(/[^-_=A-Za-z0-9]/g, (c) => `=${c.charCodeAt(0).toString(16)}`);
}

/** JSON Schema (draft-07) of {@link NodeHeartbeat}. */
export const nodeHeartbeatSchema = {
  $id: 'https://conform.dev/schemas/node.heartbeat.v1.json',
  title: 'encoder node heartbeat v1 (key-value bucket conform-nodes)',
  type: 'object',
  required: [
    'version',
    'node',
    'host',
    'state',
    'devices',
    'paused',
    'pauseReasons',
    'running',
    'startedAt',
    'time',
    'intervalSec',
  ],
  properties: {
    version: { const: 1 },
    node: { type: 'string', minLength: 1 },
    host: { type: 'string' },
    state: { enum: ['running', 'stopped'] },
    devices: {
      type: 'array',
      items: {
        type: 'object',
        required: ['backend', 'encoders', 'slots', 'inUse'],
        properties: {
          backend: { type: 'string', minLength: 1 },
          encoders: { type: 'array', items: { type: 'string' } },
          slots: { type: 'integer', minimum: 0 },
          inUse: { type: 'integer', minimum: 0 },
        },
      },
    },
    paused: { type: 'boolean' },
    pauseReasons: { type: 'array', items: { enum: ['manual', 'schedule', 'low-disk'] } },
    running: { type: 'integer', minimum: 0 },
    startedAt: { type: 'string', minLength: 1 },
    time: { type: 'string', minLength: 1 },
    intervalSec: { type: 'number', exclusiveMinimum: 0 },
    pools: { type: 'array', items: { type: 'string' } },
    fallbackPools: { type: 'array', items: { type: 'string' } },
    libraries: { type: 'array', items: { type: 'string' } },
    sizeClasses: { type: 'array', items: { type: 'string' } },
    maxFileSizeBytes: { type: 'integer', minimum: 1 },
  },
} as const;

const validateHeartbeat = new Ajv({ allErrors: true, strict: true }).compile(nodeHeartbeatSchema);

/** Parses a heartbeat from the bucket, never throwing. */
export function decodeHeartbeat(
  bytes: Uint8Array,
): { ok: true; heartbeat: NodeHeartbeat } | { ok: false; error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    return { ok: false, error: `heartbeat is not JSON: ${(err as Error).message}` };
  }
  if (!validateHeartbeat(parsed)) {
    const errors = validateHeartbeat.errors ?? [];
    return {
      ok: false,
      error: errors.map((e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}`).join('; '),
    };
  }
  return { ok: true, heartbeat: parsed as NodeHeartbeat };
}
