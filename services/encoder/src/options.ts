import type { EncoderAvailability } from './detect.js';
import type { PauseOptions } from './pause-controller.js';
import type { Backend, EncoderName } from './profiles.js';
import type { RoutePreference } from './routing.js';

/**
 * The lowest niceness, at which encodes also run under SCHED_IDLE where the machine allows
 * (see runFfmpeg's `idle`): a verification, a probe or a live transcode that wakes up takes the
 * core from the encode at once.
 */
export const LOWEST_NICENESS = 19;

/**
 * Encodes are background work on a machine that also serves the library: they run below the
 * media server's live transcodes, the dashboard and conform's own short jobs (the verifier's
 * check that gates a swap, probes), which take the CPU first and give it back within seconds.
 * On an idle machine the encode still gets every core. The lowest priority, 19: an encode is
 * hours of work that can always wait. It runs in a session of its own, whose autogroup gets the
 * same niceness (see runFfmpeg), so against a busy session at normal priority it takes about
 * 1.5 % of a core at 19 (scheduler weights 15 : 1024), about 10 % at 10 (110 : 1024).
 */
export const DEFAULT_ENCODE_NICENESS = LOWEST_NICENESS;

/** Options of {@link startEncoder}. */
export interface EncoderOptions extends PauseOptions {
  /** Encodes at once per device in this process; overrides every device's default. */
  slots?: number;
  /** Encodes at once per device kind; defaults: cpu 1, nvenc 3, qsv 2, vaapi 2. */
  deviceSlots?: Partial<Record<Backend, number>>;
  /** `auto` (the default) picks by trial encodes; naming one forces it for its codec. */
  encoder?: 'auto' | EncoderName;
  /**
   * The consumer's max_ack_pending: messages in flight across every encoder node. Set it the
   * same on every node (the last one started wins). Defaults to 16.
   */
  maxInFlight?: number;
  /** How long a delivery may go without an in-progress ack; defaults to 60 s. */
  ackWaitMs?: number;
  /** Deliveries before a plan is dead-lettered; defaults to 3. */
  maxDeliver?: number;
  /** Delay before a transient failure is retried; defaults to 30 s. */
  retryDelayMs?: number;
  /** Name of this node in pause events and progress; defaults to `encoder@<hostname>`. */
  node?: string;
  /**
   * A CPU-only node takes GPU work (pool `gpu-<codec>`) once it has waited this long for a GPU
   * node; absent: never. `conform up` (one machine) sets 0.
   */
  cpuFallbackAfterMs?: number | null;
  /**
   * Which pool plans are queued in (this node routes too): `cpu` (the default) lets any node
   * that encodes the codec take it; `gpu` keeps it for GPU nodes. Same on every node.
   */
  routePreference?: RoutePreference;
  /** Measure the NVENC session cap with concurrent trial sessions at start; default true. */
  nvencSessionProbe?: boolean;
  /** Encoder availability, when already detected (tests, `conform doctor`). */
  availability?: readonly EncoderAvailability[];
  /** Canonical library roots this node reaches (its start-up check passed), for the nodes view. */
  libraries?: readonly string[];
  /**
   * The largest source this node takes (`--max-file-size`, `CONFORM_MAX_FILE_SIZE`), e.g. for a
   * small work disk; rounded down to a size class (see `SIZE_CLASSES`). Absent: any size.
   */
  maxFileSizeBytes?: number | null;
  /**
   * CPU niceness of the encodes' ffmpeg (0–19; `--encode-nice`, `CONFORM_ENCODE_NICE`);
   * defaults to {@link DEFAULT_ENCODE_NICENESS}.
   */
  niceness?: number;
  /** How often the node writes its heartbeat to the nodes bucket; defaults to 10 s. */
  heartbeatIntervalMs?: number;
}
