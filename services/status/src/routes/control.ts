import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { CONTROL_FILE_ID, retryRefusal, type ControlAction } from '@conform/contracts';
import { fileDetailOf } from '../detail.js';
import { fileIdParamsSchema, problemSchema } from '../schemas.js';
import { fileWithEvents, type RouteContext } from './context.js';

const accepted = {
  type: 'object',
  properties: {
    accepted: { type: 'boolean' },
    eventId: { type: 'string' },
    action: { type: 'string' },
    fileId: { type: 'string' },
  },
} as const;

const controlResponses = { 202: accepted, 401: problemSchema, 403: problemSchema } as const;

/**
 * Control requests become `control.requested` events. Every route here authenticates first,
 * in a hook, before its parameters are read: an unauthenticated caller learns nothing, not
 * even whether a file id exists.
 */
export function controlRoutes(ctx: RouteContext): FastifyPluginAsync {
  return async (app) => {
    app.addHook('onRequest', async (request, reply) => {
      if (!ctx.publisher || !ctx.controlToken) {
        return reply.code(403).send({
          error: 'forbidden',
          message: 'control is disabled: start the status server with a control token',
        });
      }
      if (!tokenMatches(request.headers.authorization, ctx.controlToken)) {
        return reply.code(401).send({
          error: 'unauthorized',
          message: 'send the control token as "Authorization: Bearer <token>"',
        });
      }
    });

    const publish = async (
      request: FastifyRequest,
      reply: FastifyReply,
      action: ControlAction,
      target: { fileId: string; path: string | null; now: boolean },
    ) => {
      const event = await ctx.publisher!.emit(
        {
          type: 'control.requested',
          data: { action, path: target.path, now: target.now, requestedBy: `api@${request.ip}` },
        },
        { fileId: target.fileId, discriminator: `${action}:${Date.now()}` },
      );
      return reply
        .code(202)
        .send({ accepted: true, eventId: event.id, action, fileId: target.fileId });
    };
    const security = [{ bearer: [] }];

    app.post<{ Body: { now?: boolean } | undefined }>(
      '/api/control/pause',
      {
        schema: {
          tags: ['control'],
          summary: 'pause every encoder (now: also stop running encodes and requeue them)',
          security,
          body: {
            type: ['object', 'null'],
            properties: { now: { type: 'boolean' } },
            additionalProperties: false,
          },
          response: controlResponses,
        },
      },
      async (request, reply) =>
        publish(request, reply, 'pause', {
          fileId: CONTROL_FILE_ID,
          path: null,
          now: request.body?.now ?? false,
        }),
    );

    app.post(
      '/api/control/resume',
      {
        schema: {
          tags: ['control'],
          summary: 'lift a manual pause',
          security,
          response: controlResponses,
        },
      },
      async (request, reply) =>
        publish(request, reply, 'resume', { fileId: CONTROL_FILE_ID, path: null, now: false }),
    );

    app.post<{ Params: { id: string }; Body: { force?: boolean } | undefined }>(
      '/api/files/:id/retry',
      {
        schema: {
          tags: ['control'],
          summary:
            'encode a file’s last plan again (force: also a file that was kept for too small a saving)',
          security,
          params: fileIdParamsSchema,
          body: {
            type: ['object', 'null'],
            properties: { force: { type: 'boolean' } },
            additionalProperties: false,
          },
          response: { ...controlResponses, 404: problemSchema, 409: problemSchema },
        },
      },
      async (request, reply) => {
        const found = await fileWithEvents(ctx, request.params.id, reply);
        if (!found) return reply;
        // The same rule as `conform retry`: a kept file only when forced, a damaged one never.
        const { file, events } = found;
        const planAt = events.findLastIndex((e) => e.type === 'file.planned');
        const planned = events[planAt];
        if (planned?.type === 'file.planned') {
          const kept = events.slice(planAt + 1).findLast((e) => e.type === 'file.kept');
          const refusal = retryRefusal(
            planned,
            kept?.type === 'file.kept' ? kept.data : null,
            request.body?.force === true,
          );
          if (refusal) return reply.code(409).send({ error: 'conflict', message: refusal.message });
        }
        return publish(request, reply, 'retry', {
          fileId: file.fileId,
          path: file.path,
          now: false,
        });
      },
    );

    app.post<{ Params: { id: string } }>(
      '/api/files/:id/restore',
      {
        schema: {
          tags: ['control'],
          summary: 'put a replaced file’s archived original back',
          security,
          params: fileIdParamsSchema,
          response: { ...controlResponses, 404: problemSchema, 409: problemSchema },
        },
      },
      async (request, reply) => {
        const found = await fileWithEvents(ctx, request.params.id, reply);
        if (!found) return reply;
        // The archiver restores by the original path, which a container change may differ
        // from; after a swap the file is usually `compliant` (its new content re-judged), so the
        // history, not the status, says whether a replacement stands.
        const { file, events } = found;
        const replaced = events.filter((e) => e.type === 'file.replaced').at(-1);
        if (!fileDetailOf(events).restorable || replaced?.type !== 'file.replaced') {
          return reply.code(409).send({
            error: 'conflict',
            message: `${file.path} has no replacement to undo (status ${file.status}): there is no original to restore`,
          });
        }
        const path = replaced.data.path;
        return publish(request, reply, 'restore', { fileId: file.fileId, path, now: false });
      },
    );
  };
}

function tokenMatches(header: unknown, token: string): boolean {
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}
