import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { connectBus, EventPublisher, eventually } from '@conform/bus';
import { lastEventOf, lastEventsOfType } from '@conform/bus';
import { CliError, UsageError } from '../errors.js';
import { natsOption } from '../options.js';

/** Registers `conform restore PATH`. */
export function register(program: Command): void {
  program
    .command('restore')
    .description('put the archived original of a replaced file back (the replacement is archived)')
    .argument('<path>', 'the file as it was before it was replaced, or its replacement')
    .addOption(natsOption('NATS server URL of the running conform'))
    .option('--timeout <ms>', 'how long to wait for the archiver to answer', '30000')
    .action(async (pathArg: string, flags: { nats?: string; timeout: string }) => {
      const natsUrl = flags.nats;
      if (!natsUrl)
        throw new UsageError(
          'conform restore needs the NATS of a running conform: --nats URL or NATS_URL',
        );
      const timeoutMs = Number(flags.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs < 0) {
        throw new UsageError(
          `--timeout must be a whole number of milliseconds, got "${flags.timeout}"`,
        );
      }
      const path = resolve(pathArg);
      const bus = await connectBus({
        servers: natsUrl,
        name: `conform-restore@${hostname()}`,
      }).catch((err: unknown) => {
        throw new CliError(
          'NATS_UNREACHABLE',
          `cannot reach NATS at ${natsUrl}: ${(err as Error).message}`,
        );
      });
      try {
        const replaced = [...(await lastEventsOfType(bus, 'file.replaced')).values()].filter(
          (r) => r.event.data.path === path || r.event.data.newPath === path,
        );
        const latest = replaced.sort((a, b) => b.seq - a.seq)[0];
        if (!latest)
          throw new CliError(
            'NOT_REPLACED',
            `${path}: conform has not replaced this file; nothing to restore`,
          );
        const fileId = latest.event.fileId;
        const publisher = new EventPublisher(bus.js, { producer: `cli@${hostname()}` });
        const request = await publisher.emit(
          {
            type: 'control.requested',
            data: {
              action: 'restore',
              path: latest.event.data.path,
              now: false,
              requestedBy: `cli:${userInfo().username}@${hostname()}`,
            },
          },
          { fileId, discriminator: new Date().toISOString() },
        );
        const answer = await eventually(
          async () => {
            const [ok, failed] = await Promise.all([
              lastEventOf(bus, 'file.restored', fileId),
              lastEventOf(bus, 'restore.failed', fileId),
            ]);
            const candidates = [ok, failed].filter((a) => a && a.event.causationId === request.id);
            return candidates[0] ?? null;
          },
          {
            timeoutMs,
            intervalMs: 200,
            what: 'the archiver to answer (is conform running with this library?)',
          },
        ).catch((err: unknown) => {
          throw new CliError(
            'NO_ANSWER',
            `restore of ${path} requested, but ${(err as Error).message}`,
          );
        });
        if (answer.event.type === 'restore.failed') {
          throw new CliError(
            'RESTORE_FAILED',
            `restore of ${path} failed: ${(answer.event.data as { reason: string }).reason}`,
          );
        }
        const data = answer.event.data as { path: string; replacementArchivePath: string };
        process.stdout.write(
          `restored ${data.path}; the replacement is archived at ${data.replacementArchivePath}\n`,
        );
      } finally {
        await bus.close();
      }
    });
}
