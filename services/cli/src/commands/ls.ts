import type { Command } from 'commander';
import { fileSortKeys, fileStatuses, type FileRow } from '@conform/projections';
import { UsageError } from '../errors.js';
import { defaultStatusUrl, getStatusJson } from './status-api.js';

/** A size for people: 1.5 GB. */
function human(bytes: number | null): string {
  if (bytes === null) return '-';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let n = Math.abs(bytes);
  let u = 0;
  while (n >= 1000 && u < units.length - 1) {
    n /= 1000;
    u++;
  }
  return `${bytes < 0 ? '-' : ''}${n >= 100 || u === 0 ? Math.round(n) : n.toFixed(1)} ${units[u]}`;
}

/** Files as the dashboard's Files view shows them, one per line, then "shown of total". */
export function formatFiles(files: FileRow[], total: number, offset: number): string {
  const lines = files.map((f) => {
    const res = f.media.width ? `${f.media.width}x${f.media.height}` : '-';
    return [
      f.status.padEnd(13),
      (f.media.videoCodec ?? '-').padEnd(6),
      res.padStart(9),
      human(f.sizeBytes).padStart(8),
      (f.bytesSaved !== null ? `-${human(f.bytesSaved)}` : '').padStart(9),
      f.path,
    ].join('  ');
  });
  const shown = files.length ? `${offset + 1}-${offset + files.length}` : '0';
  lines.push(`${shown} of ${total} files`);
  return lines.join('\n') + '\n';
}

/** Registers `conform ls`. */
export function register(program: Command): void {
  program
    .command('ls')
    .description('list files with status, codec, resolution, size and bytes saved')
    .option('--status <status>', `only files in this status (${fileStatuses.join(', ')})`)
    .option('--library <dir>', 'only files of this library')
    .option('--search <text>', 'only paths containing this text')
    .option('--sort <key>', `order by ${fileSortKeys.join(', ')}`, 'path')
    .option('--desc', 'descending order')
    .option('--limit <n>', 'files per page (1..1000)', '100')
    .option('--offset <n>', 'skip this many', '0')
    .option('--url <url>', 'status server URL', defaultStatusUrl())
    .option('--json', 'print { total, files } as JSON')
    .action(
      async (flags: {
        status?: string;
        library?: string;
        search?: string;
        sort: string;
        desc?: boolean;
        limit: string;
        offset: string;
        url: string;
        json?: boolean;
      }) => {
        if (flags.status && !(fileStatuses as readonly string[]).includes(flags.status)) {
          throw new UsageError(
            `--status must be one of ${fileStatuses.join(', ')}; got "${flags.status}"`,
          );
        }
        if (!(fileSortKeys as readonly string[]).includes(flags.sort)) {
          throw new UsageError(
            `--sort must be one of ${fileSortKeys.join(', ')}; got "${flags.sort}"`,
          );
        }
        const q = new URLSearchParams({
          sort: flags.sort,
          order: flags.desc ? 'desc' : 'asc',
          limit: flags.limit,
          offset: flags.offset,
        });
        if (flags.status) q.set('status', flags.status);
        if (flags.library) q.set('library', flags.library);
        if (flags.search) q.set('q', flags.search);
        const { body, headers } = await getStatusJson<FileRow[]>(flags.url, `/api/files?${q}`);
        const total = Number(headers.get('x-total-count') ?? body.length);
        process.stdout.write(
          flags.json
            ? `${JSON.stringify({ total, files: body }, null, 2)}\n`
            : formatFiles(body, total, Number(flags.offset)),
        );
      },
    );
}
