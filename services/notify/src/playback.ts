import {
  assertNever,
  type DomainEventOf,
  type EventEnvelope,
  type PlaybackServer,
} from '@conform/contracts';

/** What notify knows about playback: what it last recorded, and when it last saw any. */
export interface PlaybackState {
  /** As last recorded in the log (playback.started without a later playback.ended). */
  active: boolean;
  /** Id of the last playback event, which keys the next one's id (two pollers agree on it). */
  lastId: string | null;
  /** When a poll last found a session (ms); null when none was seen since start. */
  lastSeenAt: number | null;
}

/** One poll of every configured server; `sessions` null when the server did not answer. */
export interface PlaybackObservation {
  now: number;
  servers: (Omit<PlaybackServer, 'sessions'> & { sessions: number | null })[];
}

export type PlaybackEvent = DomainEventOf<'playback.started'> | DomainEventOf<'playback.ended'>;

export const INITIAL_PLAYBACK: PlaybackState = { active: false, lastId: null, lastSeenAt: null };

/** Folds a recorded playback event into the state. Pure. */
export function evolvePlayback(
  state: PlaybackState,
  event: EventEnvelope<'playback.started' | 'playback.ended'>,
): PlaybackState {
  switch (event.type) {
    case 'playback.started':
      return { ...state, active: true, lastId: event.id };
    case 'playback.ended':
      return { ...state, active: false, lastId: event.id };
    default:
      return assertNever(event, 'playback event');
  }
}

/** Remembers when sessions were last seen. Pure. */
export function observePlayback(state: PlaybackState, obs: PlaybackObservation): PlaybackState {
  const playing = obs.servers.some((s) => (s.sessions ?? 0) > 0);
  // After a restart while paused, the grace period starts at the first poll.
  const seen = playing || (state.active && state.lastSeenAt === null);
  return seen ? { ...state, lastSeenAt: obs.now } : state;
}

/**
 * playback.started as soon as any server reports a session; playback.ended once none has for
 * `graceMinutes`. A server that does not answer counts as idle (it cannot be streaming much),
 * so a dead server never keeps the encoders paused. Pure: call after {@link observePlayback}.
 */
export function decidePlayback(
  obs: PlaybackObservation,
  state: PlaybackState,
  graceMinutes: number,
): PlaybackEvent[] {
  const playing = obs.servers.filter((s) => (s.sessions ?? 0) > 0);
  const sessions = playing.reduce((n, s) => n + (s.sessions ?? 0), 0);
  if (sessions > 0 && !state.active) {
    return [
      {
        type: 'playback.started',
        data: {
          sessions,
          servers: obs.servers.map((s) => ({ ...s, sessions: s.sessions ?? 0 })),
          detail: `${sessions} playback session${sessions === 1 ? '' : 's'} on ${playing.map((s) => s.name).join(', ')}`,
        },
      },
    ];
  }
  const idleMs = state.lastSeenAt === null ? Infinity : obs.now - state.lastSeenAt;
  if (sessions === 0 && state.active && idleMs >= graceMinutes * 60_000) {
    return [
      {
        type: 'playback.ended',
        data: { detail: `no playback for ${graceMinutes} min`, graceMinutes },
      },
    ];
  }
  return [];
}
