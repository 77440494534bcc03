import {
  assertNever,
  CONTROL_FILE_ID,
  formatBytes,
  type DomainEventOf,
  type EventEnvelope,
  type PauseReason,
} from '@conform/contracts';

/** A daily window, local `HH:MM` times; `from` after `to` wraps past midnight. */
export interface ScheduleWindow {
  from: string;
  to: string;
}

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

/** Folds one event of the control subject into the state. Pure. */
export function evolvePause(state: PauseState, event: PauseSourceEvent): PauseState {
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
  for (const reason of ['manual', 'schedule', 'low-disk', 'playback'] as const) {
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

/** Whether the node must stop pulling: any reason recorded as holding. */
export function isPaused(state: PauseState): boolean {
  return Object.values(state.recorded).some(Boolean);
}

/** The quiet window `time` falls in, if any. Pure; `time` is local wall-clock minutes. */
export function quietWindowAt(
  windows: readonly ScheduleWindow[],
  minutesOfDay: number,
): ScheduleWindow | null {
  for (const w of windows) {
    const from = minutesOf(w.from);
    const to = minutesOf(w.to);
    const inside =
      from <= to
        ? minutesOfDay >= from && minutesOfDay < to
        : minutesOfDay >= from || minutesOfDay < to;
    if (inside) return w;
  }
  return null;
}

/** Parses `HH:MM`; throws a message naming the bad value. */
export function minutesOf(hhmm: string): number {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (!m) throw new RangeError(`schedule time must be HH:MM (00:00-23:59), got "${hhmm}"`);
  return Number(m[1]) * 60 + Number(m[2]);
}
