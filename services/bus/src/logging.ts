import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * JSON logs for machines; when stdout is a terminal, the CLI passes `pretty: true` and a
 * pino-pretty transport makes them readable.
 */
export function createLogger(
  opts: { level?: string; pretty?: boolean; name?: string } = {},
): Logger {
  const level = opts.level ?? process.env.LOG_LEVEL ?? 'info';
  if (opts.pretty) {
    return pino({
      level,
      name: opts.name,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss' },
      },
    });
  }
  return pino({ level, name: opts.name });
}

/** A logger that writes nothing: for tests that do not assert on logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** An info-level logger that keeps every line, parsed: for tests that wait for a log line. */
export function recordingLogger(): { log: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'info' },
    { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { log, records };
}
