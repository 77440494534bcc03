// The stability decider: when a path seen by the edge counts as settled (whole and no longer
// being written), from its size and mtime and the clock, all given as data. The catalogue
// decider (decide.ts) then decides what a settled path is: new, changed, moved or known.
import { assertNever, type Decider } from '@conform/contracts';

/** What the edge learned about one path: its current stat (with the clock), or that it is gone. */
export type StabilityInput =
  | { kind: 'observed'; path: string; size: number; mtimeMs: number; now: number }
  | { kind: 'vanished'; path: string };

/** Where one path stands on its way to being discovered. */
export type PathStability =
  | { phase: 'absent' }
  /** Seen with this size and mtime since `since`; not yet quiet for a whole window. */
  | { phase: 'settling'; size: number; mtimeMs: number; since: number }
  /** Announced as stable with this size and mtime; only a change brings it back. */
  | { phase: 'stable'; size: number; mtimeMs: number };

/** What the stability decider concluded from an input. */
export type StabilityEvent =
  /** The file is new or changed: its quiet period (re)starts now. */
  | { kind: 'settling'; path: string; size: number; mtimeMs: number; since: number }
  /** Unchanged for the whole window: time to announce it. */
  | { kind: 'stable'; path: string; size: number; mtimeMs: number }
  | { kind: 'forgotten'; path: string };

/**
 * The stability rule for one path: a file is stable once its size and mtime have stayed the
 * same for `windowMs`, so a file still being copied or downloaded is announced once, after
 * it is finished. A file whose mtime is already older than the window is stable on sight:
 * whatever writes it moves its mtime to now, so it has been quiet that long already (an
 * existing library is discovered without waiting; a copy in progress has a fresh mtime, and a
 * copy that ends by restoring the source's old mtime, like `cp -p`, is complete by then).
 * An mtime in the future (clock skew on a NAS) is no evidence: that file waits the window.
 * The clock arrives as `now` in each observation.
 */
export function stabilityDecider(
  windowMs: number,
): Decider<StabilityInput, PathStability, StabilityEvent> {
  return {
    initialState: () => ({ phase: 'absent' }),
    decide(input, state) {
      switch (input.kind) {
        case 'vanished':
          return state.phase === 'absent' ? [] : [{ kind: 'forgotten', path: input.path }];
        case 'observed': {
          const { path, size, mtimeMs, now } = input;
          const same = state.phase !== 'absent' && state.size === size && state.mtimeMs === mtimeMs;
          const stable: StabilityEvent[] = [{ kind: 'stable', path, size, mtimeMs }];
          const quiet = isQuietByMtime(mtimeMs, now, windowMs);
          if (!same)
            return quiet ? stable : [{ kind: 'settling', path, size, mtimeMs, since: now }];
          if (state.phase === 'settling' && (quiet || now - state.since >= windowMs)) return stable;
          return [];
        }
        default:
          return assertNever(input, 'stability input');
      }
    },
    evolve(_state, event) {
      switch (event.kind) {
        case 'settling':
          return {
            phase: 'settling',
            size: event.size,
            mtimeMs: event.mtimeMs,
            since: event.since,
          };
        case 'stable':
          return { phase: 'stable', size: event.size, mtimeMs: event.mtimeMs };
        case 'forgotten':
          return { phase: 'absent' };
        default:
          return assertNever(event, 'stability event');
      }
    },
  };
}

/** Last modified at least a whole window ago (and not in the future). */
export function isQuietByMtime(mtimeMs: number, now: number, windowMs: number): boolean {
  return mtimeMs <= now && now - mtimeMs >= windowMs;
}
