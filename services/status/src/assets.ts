import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsync } from 'fastify';
import { fileSortKeys, fileStatuses } from '@conform/projections';

/** The dashboard's files: path served → file under public/ and its content type. */
const ASSETS: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/assets/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/assets/shared.js': ['shared.js', 'text/javascript; charset=utf-8'],
  '/assets/files.js': ['files.js', 'text/javascript; charset=utf-8'],
  '/assets/activity.js': ['activity.js', 'text/javascript; charset=utf-8'],
  '/assets/stats.js': ['stats.js', 'text/javascript; charset=utf-8'],
  '/assets/app.css': ['app.css', 'text/css; charset=utf-8'],
  '/assets/vendor/chart.umd.min.js': ['vendor/chart.umd.min.js', 'text/javascript; charset=utf-8'],
};

/**
 * The dashboard's view of the read models' vocabulary, as an ES module made from their one
 * definition, so a status added to the read model shows up in the Files filter by itself.
 */
export function constantsModule(): string {
  return [
    '// Made by the status server from @conform/projections; do not edit.',
    `export const STATUSES = ${JSON.stringify(fileStatuses)};`,
    `export const SORT_KEYS = ${JSON.stringify(fileSortKeys)};`,
    '',
  ].join('\n');
}

/**
 * Serves the dashboard from memory: a handful of files read once at start, no bundler and no
 * static-file plugin. A missing file (the build did not copy the chart library) is named.
 */
export async function assetRoutes(): Promise<FastifyPluginAsync> {
  const root = new URL('../../public/', import.meta.url);
  const loaded = await Promise.all(
    Object.entries(ASSETS).map(async ([route, [file, type]]) => {
      const body = await readFile(new URL(file, root)).catch(() => null);
      return { route, file, type, body };
    }),
  );
  const constants = constantsModule();
  return async (app) => {
    app.get('/assets/constants.js', { schema: { hide: true } }, async (_request, reply) =>
      reply
        .type('text/javascript; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(constants),
    );
    for (const { route, file, type, body } of loaded) {
      app.get(route, { schema: { hide: true } }, async (_request, reply) => {
        if (!body) {
          return reply.code(404).send({
            error: 'not_found',
            message: `public/${file} is missing from the status package (run npm run build)`,
          });
        }
        return reply.type(type).header('cache-control', 'no-cache').send(body);
      });
    }
  };
}
