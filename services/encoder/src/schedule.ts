// Quiet windows: the daily times in which the encoder starts no new work.

/** A daily window, local `HH:MM` times; `from` after `to` wraps past midnight. */
export interface ScheduleWindow {
  from: string;
  to: string;
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
