import { setTimeout as sleep } from 'node:timers/promises';
import { lastEventOf, type Logger, type ServiceContext } from '@conform/bus';
import { CONTROL_FILE_ID, type EventEnvelope } from '@conform/contracts';
import type { PlaybackPauseConfig } from '@conform/config';
import type { MediaServerAdapter } from './adapters/types.js';
import {
  decidePlayback,
  evolvePlayback,
  INITIAL_PLAYBACK,
  observePlayback,
  type PlaybackObservation,
  type PlaybackState,
} from './playback.js';

/** A running sessions poller. */
export interface PlaybackWatch {
  stop(): Promise<void>;
}

/**
 * Polls the sessions of the configured media servers and records playback.started /
 * playback.ended on the control subject, which every encoder's pause controller follows
 * (reason `playback`). The state is rebuilt from the log at start.
 */
export async function startPlaybackWatch(
  ctx: ServiceContext,
  servers: MediaServerAdapter[],
  config: PlaybackPauseConfig,
  log: Logger,
  now: () => number = Date.now,
): Promise<PlaybackWatch> {
  let state = await recordedPlayback(ctx);
  const abort = new AbortController();
  const poll = async () => {
    const obs: PlaybackObservation = { now: now(), servers: [] };
    for (const s of servers) {
      const sessions = await s.activeSessions(abort.signal).catch((err: unknown) => {
        log.warn({ server: s.name, reason: (err as Error).message }, 'sessions poll failed');
        return null;
      });
      obs.servers.push({ name: s.name, kind: s.kind, sessions });
    }
    state = observePlayback(state, obs);
    for (const event of decidePlayback(obs, state, config.graceMinutes)) {
      const envelope = await ctx.publisher.emit(event, {
        fileId: CONTROL_FILE_ID,
        discriminator: `after:${state.lastId ?? 'none'}`,
      });
      state = evolvePlayback(state, envelope as EventEnvelope<typeof event.type>);
      log.info({ detail: event.data.detail }, event.type);
    }
  };
  const loop = (async () => {
    while (!abort.signal.aborted) {
      await poll().catch((err: unknown) => log.error({ err }, 'playback check failed'));
      await sleep(config.pollMs, undefined, { signal: abort.signal }).catch(() => undefined);
    }
  })();
  return {
    stop: async () => {
      abort.abort();
      await loop;
    },
  };
}

async function recordedPlayback(ctx: ServiceContext): Promise<PlaybackState> {
  const started = await lastEventOf(ctx.bus, 'playback.started', CONTROL_FILE_ID);
  const ended = await lastEventOf(ctx.bus, 'playback.ended', CONTROL_FILE_ID);
  const last = [started, ended]
    .filter((x) => x !== null)
    .sort((a, b) => a.seq - b.seq)
    .pop();
  return last ? evolvePlayback(INITIAL_PLAYBACK, last.event) : INITIAL_PLAYBACK;
}
