import Fastify, {
  LogController,
  type FastifyError,
  type FastifySchemaValidationError,
} from 'fastify';
import { readFile } from 'node:fs/promises';
import { timingSafeEqual } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { Bus, EventPublisher, Logger } from '@conform/bus';
import { CONTROL_FILE_ID, FILE_ID_PATTERN, type ControlAction } from '@conform/contracts';
import {
  complianceByLibrary,
  listDeadLetters,
  listFailures,
  listJobs,
  listSavings,
  readFileHistory,
  readSummary,
  fileStatuses,
  getFile,
  lastAppliedSequence,
  listFiles,
  type ReadModels,
} from '@conform/projections';
import { StatusListenError } from './errors.js';
import { createMetricsRegistry } from './metrics.js';
import { startLiveFeed } from './live.js';
import { openApiDocument } from './openapi.js';

/** Options of {@link startStatusServer}. */
export interface StatusServerOptions {
  readModels: ReadModels;
  log: Logger;
  /** Defaults to 127.0.0.1: the status page is not exposed unless asked for. */
  host?: string;
  /** 0 (the default) picks any free port; the returned `url` has the real one. */
  port?: number;
  /** Whether the rest of the process is ready (bus connected, projector caught up). */
  isReady?: () => Promise<boolean>;
  /** The bus: per-file history from the stream, the live stream, projection lag. */
  bus?: Bus;
  /** Publishes control requests; without it (or without `controlToken`) control answers 403. */
  publisher?: EventPublisher;
  /** Bearer token the POST control endpoints require. */
  controlToken?: string;
  /** The process's bus metrics, served at /metrics next to the read-model gauges. */
  busMetrics?: Registry;
}

/** A listening status server. */
export interface StatusServer {
  url: string;
  close(): Promise<void>;
}

/** Largest page `/api/files` serves. */
export const MAX_FILES_PAGE = 1_000;

interface FilesQuery {
  status?: string;
  library?: string;
  limit: number;
  offset: number;
}

const filesQuerySchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: [...fileStatuses] },
    library: { type: 'string', minLength: 1 },
    limit: { type: 'integer', minimum: 1, maximum: MAX_FILES_PAGE, default: 100 },
    offset: { type: 'integer', minimum: 0, default: 0 },
  },
} as const;

/** Serves health, readiness, Prometheus metrics and the read models as JSON. */
export async function startStatusServer(opts: StatusServerOptions): Promise<StatusServer> {
  const { db } = opts.readModels;
  const isReady = opts.isReady ?? (async () => true);
  const log = opts.log.child({ service: 'status' });
  const metrics = createMetricsRegistry(db, { jsm: opts.bus?.jsm, extra: opts.busMetrics });
  const live = startLiveFeed(opts.bus?.nc ?? null, log);
  const dashboard = await readFile(new URL('../../public/index.html', import.meta.url), 'utf8');

  const app = Fastify({
    loggerInstance: log,
    // Health probes and scrapes every few seconds would drown the log; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    schemaErrorFormatter: (errors, dataVar) => new Error(describeValidation(errors, dataVar)),
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.validation) {
      return reply.code(400).send({ error: 'bad_request', message: err.message });
    }
    const code = err.statusCode ?? 500;
    if (code < 500) return reply.code(code).send({ error: 'bad_request', message: err.message });
    request.log.error({ err, url: request.url }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error; see the log' });
  });

  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${request.url}` }),
  );

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    let ready: boolean;
    try {
      ready = await isReady();
    } catch (err) {
      return reply
        .code(503)
        .send({ status: 'unavailable', reason: `readiness check failed: ${message(err)}` });
    }
    if (!ready) {
      return reply
        .code(503)
        .send({ status: 'unavailable', reason: 'not ready yet (bus or projector still starting)' });
    }
    try {
      const appliedSequence = await lastAppliedSequence(db);
      return { status: 'ready', appliedSequence };
    } catch (err) {
      return reply
        .code(503)
        .send({ status: 'unavailable', reason: `read model does not answer: ${message(err)}` });
    }
  });

  app.get('/metrics', async (_request, reply) => {
    const body = await metrics.metrics();
    return reply.type(metrics.contentType).send(body);
  });

  app.get<{ Querystring: FilesQuery }>(
    '/api/files',
    { schema: { querystring: filesQuerySchema } },
    async (request) => listFiles(db, request.query),
  );

  app.get<{ Params: { id: string } }>(
    '/api/files/:id',
    {
      schema: {
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', pattern: FILE_ID_PATTERN } },
        },
      },
    },
    async (request, reply) => {
      const file = await getFile(db, request.params.id);
      if (!file) {
        return reply
          .code(404)
          .send({ error: 'not_found', message: `no file with id ${request.params.id}` });
      }
      const history = opts.bus ? await readFileHistory(opts.bus, file.fileId) : [];
      return {
        ...file,
        jobs: await listJobs(db, { fileId: file.fileId }),
        failures: (await listFailures(db, { limit: 1_000 })).filter(
          (f) => f.fileId === file.fileId,
        ),
        events: history.map((m) => ({ sequence: m.sequence, subject: m.subject, event: m.event })),
      };
    },
  );

  app.get('/api/summary', async () => {
    const summary = await readSummary(db);
    return {
      ...summary,
      activeEncodes: summary.activeEncodes.map((a) => ({
        ...a,
        progress: live.progress(a.fileId),
      })),
      libraries: await complianceByLibrary(db),
    };
  });

  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(dashboard));

  app.get('/api/openapi.json', async () => openApiDocument());

  app.get<{ Querystring: { outcome?: string; fileId?: string; limit: number; offset: number } }>(
    '/api/jobs',
    { schema: { querystring: jobsQuerySchema } },
    async (request) => listJobs(db, request.query),
  );

  app.get<{ Querystring: { open?: boolean; limit: number; offset: number } }>(
    '/api/failures',
    { schema: { querystring: failuresQuerySchema } },
    async (request) =>
      listFailures(db, { openOnly: request.query.open ?? false, ...pageOf(request.query) }),
  );

  app.get('/api/compliance', async () => complianceByLibrary(db));
  app.get('/api/savings', async () => listSavings(db));
  app.get<{ Querystring: { limit: number; offset: number } }>(
    '/api/dead-letters',
    { schema: { querystring: pageQuerySchema } },
    async (request) => listDeadLetters(db, pageOf(request.query)),
  );

  app.get('/api/events', (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.write(': connected\n\n');
    const unsubscribe = live.subscribe((message) => {
      res.write(`event: ${message.kind}\ndata: ${JSON.stringify(message)}\n\n`);
    });
    // Proxies drop idle streams; a comment every 15 s keeps it open.
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    const end = () => {
      clearInterval(keepAlive);
      unsubscribe();
    };
    request.raw.on('close', end);
    sseEnds.add(() => {
      end();
      res.end();
    });
  });

  const control = async (
    request: { headers: Record<string, unknown>; ip: string },
    reply: { code(n: number): { send(b: unknown): unknown } },
    action: ControlAction,
    target: { fileId: string; path: string | null; now: boolean },
  ) => {
    if (!opts.publisher || !opts.controlToken) {
      return reply.code(403).send({
        error: 'forbidden',
        message: 'control is disabled: start the status server with a control token',
      });
    }
    if (!tokenMatches(request.headers.authorization, opts.controlToken)) {
      return reply.code(401).send({
        error: 'unauthorized',
        message: 'send the control token as "Authorization: Bearer <token>"',
      });
    }
    const event = await opts.publisher.emit(
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

  app.post<{ Body: { now?: boolean } | undefined }>(
    '/api/control/pause',
    { schema: { body: controlBodySchema } },
    async (request, reply) =>
      control(request, reply, 'pause', {
        fileId: CONTROL_FILE_ID,
        path: null,
        now: request.body?.now ?? false,
      }),
  );
  app.post('/api/control/resume', async (request, reply) =>
    control(request, reply, 'resume', { fileId: CONTROL_FILE_ID, path: null, now: false }),
  );
  app.post<{ Params: { id: string } }>(
    '/api/files/:id/retry',
    { schema: { params: fileIdParamsSchema } },
    async (request, reply) => {
      const file = await getFile(db, request.params.id);
      if (!file) {
        return reply
          .code(404)
          .send({ error: 'not_found', message: `no file with id ${request.params.id}` });
      }
      return control(request, reply, 'retry', { fileId: file.fileId, path: file.path, now: false });
    },
  );

  let url: string;
  try {
    url = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
  } catch (err) {
    await app.close().catch(() => undefined);
    throw new StatusListenError(
      `status server cannot listen on ${opts.host ?? '127.0.0.1'}:${opts.port ?? 0}: ${message(err)}`,
      { cause: err },
    );
  }
  log.info({ url }, 'status server listening');
  let closed: Promise<void> | null = null;
  return {
    url,
    close: () =>
      (closed ??= Promise.resolve()
        .then(() => {
          // Open event streams would hold the server open forever.
          for (const end of sseEnds) end();
          live.close();
        })
        .then(() => app.close())
        .then(() => {
          metrics.clear();
        })),
  };
}

const sseEnds = new Set<() => void>();

const pageProperties = {
  limit: { type: 'integer', minimum: 1, maximum: MAX_FILES_PAGE, default: 100 },
  offset: { type: 'integer', minimum: 0, default: 0 },
} as const;
const pageQuerySchema = { type: 'object', properties: pageProperties } as const;
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
const failuresQuerySchema = {
  type: 'object',
  properties: { open: { type: 'boolean' }, ...pageProperties },
} as const;
const fileIdParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: FILE_ID_PATTERN } },
} as const;
const controlBodySchema = {
  type: ['object', 'null'],
  properties: { now: { type: 'boolean' } },
  additionalProperties: false,
} as const;

function pageOf(q: { limit: number; offset: number }): { limit: number; offset: number } {
  return { limit: q.limit, offset: q.offset };
}

function tokenMatches(header: unknown, token: string): boolean {
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** "query parameter limit: must be integer", naming the parameter a person has to fix. */
function describeValidation(errors: FastifySchemaValidationError[], dataVar: string): string {
  const where =
    dataVar === 'querystring'
      ? 'query parameter'
      : dataVar === 'params'
        ? 'path parameter'
        : dataVar;
  return errors
    .map((e) => {
      const name = e.instancePath.replace(/^\//, '') || String(e.params.missingProperty ?? '');
      const allowed = Array.isArray(e.params.allowedValues)
        ? ` (${(e.params.allowedValues as unknown[]).join(', ')})`
        : '';
      return `invalid ${where} ${name}: ${e.message ?? 'invalid'}${allowed}`;
    })
    .join('; ');
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
