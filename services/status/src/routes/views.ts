import type { FastifyPluginAsync } from 'fastify';
import { CONTROL_FILE_ID, type EventEnvelope } from '@conform/contracts';
import {
  complianceByLibrary,
  countFiles,
  encodeTimeByDay,
  failuresByReason,
  listFiles,
  listJobs,
  listSavings,
  readFileHistory,
  readSummary,
} from '@conform/projections';
import { nodesView } from '../nodes-view.js';
import { pauseViewOf, type PauseView } from '../pause-state.js';
import { anyObject, arrayOf, fileRowSchema, pageProperties, problemSchema } from '../schemas.js';
import type { RouteContext } from './context.js';

/** The dashboard's views that combine read models: queue, nodes, statistics, dry run. */
export function viewRoutes(ctx: RouteContext): FastifyPluginAsync {
  const { db } = ctx;
  const pauseView = async (): Promise<PauseView> => {
    if (!ctx.bus) return { paused: false, nodes: [], lastRequest: null };
    const history = await readFileHistory(ctx.bus, CONTROL_FILE_ID);
    return pauseViewOf(history.map((m) => m.event).filter((e): e is EventEnvelope => !!e));
  };
  return async (app) => {
    app.get<{ Querystring: { limit: number; offset: number } }>(
      '/api/queue',
      {
        schema: {
          tags: ['views'],
          summary: 'queued files in order, running encodes with live progress, recent outcomes',
          querystring: { type: 'object', properties: pageProperties },
          response: {
            200: {
              type: 'object',
              additionalProperties: true,
              properties: {
                pause: anyObject,
                queued: arrayOf(fileRowSchema),
                queuedTotal: { type: 'integer' },
                active: arrayOf(anyObject),
                recent: arrayOf(anyObject),
              },
            },
          },
        },
      },
      async (request) => {
        const queued = { status: 'queued', sort: 'updated' as const };
        const [files, total, summary, jobs, pause] = await Promise.all([
          listFiles(db, { ...queued, limit: request.query.limit, offset: request.query.offset }),
          countFiles(db, queued),
          readSummary(db),
          listJobs(db, { limit: 40 }),
          pauseView(),
        ]);
        return {
          pause,
          queued: files,
          queuedTotal: total,
          active: summary.activeEncodes.map((a) => ({
            ...a,
            progress: ctx.live.progress(a.fileId),
          })),
          recent: jobs.filter((j) => j.outcome !== 'running').slice(0, 20),
        };
      },
    );

    app.get(
      '/api/nodes',
      {
        schema: {
          tags: ['views'],
          summary:
            'encoder nodes from their heartbeats: devices, pools, size classes and maximum file size, slots in use, pause, last beat; and queued work no live node can take',
          response: { 200: anyObject },
        },
      },
      async () => {
        if (!ctx.bus) return { nodes: [], unreadable: [], unserved: [] };
        return nodesView(ctx.bus);
      },
    );

    app.get(
      '/api/stats',
      {
        schema: {
          tags: ['views'],
          summary: 'savings per day and library, compliance, encode time per output hour, failures',
          response: { 200: anyObject },
        },
      },
      async () => {
        const [savings, compliance, encodeTime, failures] = await Promise.all([
          listSavings(db, { limit: 10_000 }),
          complianceByLibrary(db),
          encodeTimeByDay(db),
          failuresByReason(db),
        ]);
        const byLibrary = new Map<string, { bytesSaved: number; filesReplaced: number }>();
        for (const s of savings) {
          const lib = byLibrary.get(s.library) ?? { bytesSaved: 0, filesReplaced: 0 };
          lib.bytesSaved += s.bytesSaved;
          lib.filesReplaced += s.filesReplaced;
          byLibrary.set(s.library, lib);
        }
        return {
          savingsByDay: [...savings].reverse(),
          savingsByLibrary: [...byLibrary.entries()].map(([library, s]) => ({ library, ...s })),
          compliance,
          encodeTime,
          failuresByReason: failures,
        };
      },
    );

    app.get(
      '/api/dry-run',
      {
        schema: {
          tags: ['views'],
          summary:
            'what the current policy would do with every known file (conform plan --dry-run)',
          response: { 200: anyObject, 503: problemSchema },
        },
      },
      async (_request, reply) => {
        if (!ctx.dryRun) {
          return reply.code(503).send({
            error: 'unavailable',
            message: 'this status server was started without the policy (no dry run)',
          });
        }
        return ctx.dryRun();
      },
    );
  };
}
