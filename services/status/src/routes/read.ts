// The status server's read routes (summary, files, file history, nodes, compliance) with their
// JSON schemas beside them, as one fastify plugin; the OpenAPI document is generated from them.
import type { FastifyPluginAsync } from 'fastify';
import {
  complianceByLibrary,
  countFiles,
  fileSortKeys,
  fileStatuses,
  lastAppliedSequence,
  listDeadLetters,
  listFailures,
  listFiles,
  listJobs,
  listSavings,
  readSummary,
  type FileSortKey,
} from '@conform/projections';
import { FILE_ID_PATTERN } from '@conform/contracts';
import { fileDetailOf } from '../detail.js';
import {
  anyObject,
  arrayOf,
  fileIdParamsSchema,
  fileRowSchema,
  jobRowSchema,
  pageProperties,
  problemSchema,
} from '../schemas.js';
import { fileWithEvents, message, type Readiness, type RouteContext } from './context.js';
import { viewRoutes } from './views.js';

interface FilesQuery {
  status?: string;
  library?: string;
  q?: string;
  sort: FileSortKey;
  order: 'asc' | 'desc';
  limit: number;
  offset: number;
}

const filesQuerySchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: [...fileStatuses] },
    library: { type: 'string', minLength: 1 },
    q: { type: 'string', maxLength: 500, description: 'part of the path, case-insensitive' },
    sort: { type: 'string', enum: [...fileSortKeys], default: 'path' },
    order: { type: 'string', enum: ['asc', 'desc'], default: 'asc' },
    ...pageProperties,
  },
} as const;

const jobsQuerySchema = {
  type: 'object',
  properties: {
    outcome: {
      type: 'string',
      enum: [
        'running',
        'requeued',
        'encoded',
        'failed',
        'verified',
        'rejected',
        'replaced',
        'replace-failed',
      ],
    },
    fileId: { type: 'string', pattern: FILE_ID_PATTERN },
    ...pageProperties,
  },
} as const;

/** Health, readiness, metrics and the read models as JSON. */
export function readRoutes(ctx: RouteContext): FastifyPluginAsync {
  const { db } = ctx;
  return async (app) => {
    app.get('/healthz', { schema: { tags: ['health'] } }, async () => ({ status: 'ok' }));

    app.get('/readyz', { schema: { tags: ['health'] } }, async (_request, reply) => {
      let ready: Readiness;
      try {
        ready = await ctx.isReady();
      } catch (err) {
        return reply
          .code(503)
          .send({ status: 'unavailable', reason: `readiness check failed: ${message(err)}` });
      }
      if (typeof ready === 'object' && !ready.ready) {
        return reply.code(503).send({
          status: 'unavailable',
          reason: ready.reasons.join('; '),
          reasons: ready.reasons,
        });
      }
      if (!ready) {
        return reply.code(503).send({
          status: 'unavailable',
          reason: 'not ready yet (bus or projector still starting)',
        });
      }
      try {
        return { status: 'ready', appliedSequence: await lastAppliedSequence(db) };
      } catch (err) {
        return reply
          .code(503)
          .send({ status: 'unavailable', reason: `read model does not answer: ${message(err)}` });
      }
    });

    app.get(
      '/metrics',
      { schema: { tags: ['health'], summary: 'Prometheus text exposition' } },
      async (_request, reply) => {
        const body = await ctx.metrics.metrics();
        return reply.type(ctx.metrics.contentType).send(body);
      },
    );

    app.get(
      '/api/summary',
      {
        schema: {
          tags: ['read'],
          summary: 'counts by status, compliance, savings, queue depth, running encodes',
          response: { 200: anyObject },
        },
      },
      async () => {
        const summary = await readSummary(db);
        return {
          ...summary,
          activeEncodes: summary.activeEncodes.map((a) => ({
            ...a,
            progress: ctx.live.progress(a.fileId),
          })),
          libraries: await complianceByLibrary(db),
        };
      },
    );

    app.get<{ Querystring: FilesQuery }>(
      '/api/files',
      {
        schema: {
          tags: ['read'],
          summary: 'files, filtered, searched, sorted and paged; X-Total-Count has the match count',
          querystring: filesQuerySchema,
          response: { 200: arrayOf(fileRowSchema) },
        },
      },
      async (request, reply) => {
        const { q, ...rest } = request.query;
        const filter = { ...rest, ...(q !== undefined ? { search: q } : {}) };
        const [files, total] = await Promise.all([listFiles(db, filter), countFiles(db, filter)]);
        void reply.header('x-total-count', String(total));
        return files;
      },
    );

    app.get<{ Params: { id: string } }>(
      '/api/files/:id',
      {
        schema: {
          tags: ['read'],
          summary: 'one file: its row, jobs, failures, plan, checks and full event history',
          params: fileIdParamsSchema,
          response: { 200: anyObject, 404: problemSchema },
        },
      },
      async (request, reply) => {
        const found = await fileWithEvents(ctx, request.params.id, reply);
        if (!found) return reply;
        const { file, history, events } = found;
        return {
          ...file,
          jobs: await listJobs(db, { fileId: file.fileId }),
          failures: await listFailures(db, { fileId: file.fileId, limit: 1_000 }),
          detail: fileDetailOf(events),
          events: history.map((m) => ({
            sequence: m.sequence,
            subject: m.subject,
            event: m.event,
            error: m.error,
          })),
        };
      },
    );

    app.get<{ Querystring: { outcome?: string; fileId?: string; limit: number; offset: number } }>(
      '/api/jobs',
      {
        schema: {
          tags: ['read'],
          summary: 'encode attempts, most recently changed first',
          querystring: jobsQuerySchema,
          response: { 200: arrayOf(jobRowSchema) },
        },
      },
      async (request) => listJobs(db, request.query),
    );

    app.get<{ Querystring: { open?: boolean; limit: number; offset: number } }>(
      '/api/failures',
      {
        schema: {
          tags: ['read'],
          summary: 'failures, newest first; open=true: files still failed',
          querystring: {
            type: 'object',
            properties: { open: { type: 'boolean' }, ...pageProperties },
          },
          response: { 200: arrayOf(anyObject) },
        },
      },
      async (request) =>
        listFailures(db, {
          openOnly: request.query.open ?? false,
          limit: request.query.limit,
          offset: request.query.offset,
        }),
    );

    app.get(
      '/api/compliance',
      { schema: { tags: ['read'], response: { 200: arrayOf(anyObject) } } },
      async () => complianceByLibrary(db),
    );
    app.get(
      '/api/savings',
      { schema: { tags: ['read'], response: { 200: arrayOf(anyObject) } } },
      async () => listSavings(db),
    );
    app.get<{ Querystring: { limit: number; offset: number } }>(
      '/api/dead-letters',
      {
        schema: {
          tags: ['read'],
          querystring: { type: 'object', properties: pageProperties },
          response: { 200: arrayOf(anyObject) },
        },
      },
      async (request) =>
        listDeadLetters(db, { limit: request.query.limit, offset: request.query.offset }),
    );

    await app.register(viewRoutes(ctx));
  };
}
