import {
  assertNever,
  CONTROL_FILE_ID,
  formatBytes,
  type Decider,
  type DomainEventOf,
  type EventEnvelope,
  type PauseReason,
} from '@conform/contracts';
import { quietWindowAt, type ScheduleWindow } from './schedule.js';

/** This node's pause state, folded from the control subject of the event log. */
export interface PauseState {
  node: string;
  /** What operators last asked for every encoder (control.requested pause/resume). */
  manualRequested: { paused: boolean; now: boolean; by: string };
  /** What this node last recorded, per reason (its own encoder.paused / encoder.resumed). */
  recorded: Record<PauseReason, boolean>;
  /** What notify last reported from the media servers' sessions (playback.started / ended). */
  playback: { active: boolean; detail: string };
}

/** What the node observes now; manual requests come from the state. */
export interface PauseObservation {
  /** Inside a configured "do not encode" window. */
  inQuietWindow: { window: ScheduleWindow } | null;
  /**
   * The watched filesystem furthest below what it needs (the node's floor, or the need of an
   * encode waiting for room there); null if none was checked.
   */
  disk: { path: string; freeBytes: number; minFreeBytes: number } | null;
}

/** The events this node's pause decider writes. */
export type PauseEvent = DomainEventOf<'encoder.paused'> | DomainEventOf<'encoder.resumed'>;

/** The events the pause state is folded from (everything on fileId `control`). */
export type PauseSourceEvent = EventEnvelope<
  'control.requested' | 'encoder.paused' | 'encoder.resumed' | 'playback.started' | 'playback.ended'
>;

export function initialPauseState(node: string): PauseState {
  return {
    node,
    manualRequested: { paused: false, now: false, by: '' },
    recorded: { manual: false, schedule: false, 'low-disk': false, playback: false },
    playback: { active: false, detail: 'no playback reported' },
  };
}

/** What the pause state folds: the control subject's events and this node's own decisions. */
export type PauseFact = PauseSourceEvent | PauseEvent;

/**
 * The pause decider of one node: `decide` turns what the node observes (clock, disks) and the
 * state folded from the control subject into the encoder.paused / encoder.resumed it must
 * record; `evolve` folds the log's events, and this node's own decisions, into the state.
 */
export function pauseDecider(node: string): Decider<PauseObservation, PauseState, PauseFact> {
  return {
    initialState: () => initialPauseState(node),
    decide: decidePause,
    evolve: evolvePause,
  };
}

/** Folds one event of the control subject into the state. Pure. */
export function evolvePause(state: PauseState, event: PauseFact): PauseState {
  switch (event.type) {
    case 'control.requested': {
      const { action, now, requestedBy } = event.data;
      if (event.fileId !== CONTROL_FILE_ID) return state;
      if (action !== 'pause' && action !== 'resume') return state;
      return {
        ...state,
        manualRequested: {
          paused: action === 'pause',
          now: action === 'pause' && now,
          by: requestedBy,
        },
      };
    }
    case 'encoder.paused':
    case 'encoder.resumed':
      if (event.data.node !== state.node) return state;
      return {
        ...state,
        recorded: { ...state.recorded, [event.data.reason]: event.type === 'encoder.paused' },
      };
    case 'playback.started':
    case 'playback.ended':
      return {
        ...state,
        playback: { active: event.type === 'playback.started', detail: event.data.detail },
      };
    default:
      return assertNever(event, 'pause source event');
  }
}

/**
 * The events that bring what this node recorded in line with what holds now: one
 * encoder.paused or encoder.resumed per reason that changed. Pure.
 */
export function decidePause(obs: PauseObservation, state: PauseState): PauseEvent[] {
  const lowDisk = obs.disk !== null && obs.disk.freeBytes < obs.disk.minFreeBytes;
  const want: Record<PauseReason, { holds: boolean; detail: string }> = {
    manual: {
      holds: state.manualRequested.paused,
      detail: `requested by ${state.manualRequested.by || 'an operator'}`,
    },
    schedule: {
      holds: obs.inQuietWindow !== null,
      detail: obs.inQuietWindow
        ? `inside the quiet window ${obs.inQuietWindow.window.from}-${obs.inQuietWindow.window.to}`
        : 'outside every quiet window',
    },
    'low-disk': {
      holds: lowDisk,
      detail: obs.disk
        ? `${formatBytes(obs.disk.freeBytes)} free on ${obs.disk.path}, ${formatBytes(obs.disk.minFreeBytes)} needed`
        : 'disk not checked',
    },
    playback: { holds: state.playback.active, detail: state.playback.detail },
  };
  const events: PauseEvent[] = [];
  for (const reason of PAUSE_REASONS) {
    const { holds, detail } = want[reason];
    if (holds === state.recorded[reason]) continue;
    events.push(
      holds
        ? {
            type: 'encoder.paused',
            data: {
              node: state.node,
              reason,
              detail,
              cancelRunning: reason === 'manual' && state.manualRequested.now,
            },
          }
        : { type: 'encoder.resumed', data: { node: state.node, reason, detail } },
    );
  }
  return events;
}

// The order reasons are decided and reported in.
const PAUSE_REASONS = ['manual', 'schedule', 'low-disk', 'playback'] as const;

/** Whether the node must stop pulling: any reason recorded as holding. */
export function isPaused(state: PauseState): boolean {
  return Object.values(state.recorded).some(Boolean);
}

/** The reasons that hold this node paused now (empty while it runs). Pure. */
export function pauseReasons(state: PauseState): PauseReason[] {
  return PAUSE_REASONS.filter((reason) => state.recorded[reason]);
}

/** Whether an event on the control subject is one the pause state folds. */
/** The event types on the control subject that the pause state folds. */
export const PAUSE_SOURCE_TYPES = [
  'control.requested',
  'encoder.paused',
  'encoder.resumed',
  'playback.started',
  'playback.ended',
] as const satisfies readonly PauseSourceEvent['type'][];

export function isPauseSource(event: { type: string }): event is PauseSourceEvent {
  return (PAUSE_SOURCE_TYPES as readonly string[]).includes(event.type);
}

/**
 * What the node observes, from the clock and the free space of each watched filesystem: the
 * quiet window it is in, and the filesystem furthest below its need (the node's floor, or the
 * largest need of an encode waiting for room there), which speaks for the node. Pure.
 */
export function observePause(
  now: Date,
  quietWindows: readonly ScheduleWindow[],
  disks: readonly { path: string; freeBytes: number | null }[],
  minFreeBytes: number,
  needs: Iterable<{ path: string; bytes: number }>,
): PauseObservation {
  const window = quietWindowAt(quietWindows, now.getHours() * 60 + now.getMinutes());
  const waiting = [...needs];
  let disk: PauseObservation['disk'] = null;
  for (const { path, freeBytes } of disks) {
    if (freeBytes === null) continue;
    let floor = minFreeBytes;
    for (const need of waiting) if (need.path === path) floor = Math.max(floor, need.bytes);
    if (!disk || freeBytes - floor < disk.freeBytes - disk.minFreeBytes) {
      disk = { path, freeBytes, minFreeBytes: floor };
    }
  }
  return { inQuietWindow: window ? { window } : null, disk };
}

/** What the controller does after folding one event. */
export interface PauseReaction {
  /** Decide again now (an operator request or a playback report changes what holds). */
  check: boolean;
  /** This node recorded `pause --now`: stop the running encodes. */
  cancelRunning: boolean;
  /** The node resumed: wake the pulls waiting on the pause. */
  wake: boolean;
  /** This node's own pause changed: the heartbeat should say so. */
  changed: boolean;
}

/**
 * The controller's reaction to one folded event; `live` once the replay has caught up (a
 * replayed event is history, not news). Pure.
 */
export function pauseReaction(
  before: PauseState,
  after: PauseState,
  event: PauseSourceEvent,
  live: boolean,
): PauseReaction {
  const own =
    (event.type === 'encoder.paused' || event.type === 'encoder.resumed') &&
    event.data.node === after.node;
  return {
    check: live && (event.type === 'control.requested' || event.type.startsWith('playback.')),
    cancelRunning:
      live && own && event.type === 'encoder.paused' && event.data.cancelRunning === true,
    wake: isPaused(before) && !isPaused(after),
    // Heartbeats follow this node's own pause changes (playback events name no node).
    changed: live && own,
  };
}
