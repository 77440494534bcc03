import Fastify, {
  LogController,
  type FastifyError,
  type FastifySchemaValidationError,
} from 'fastify';
import type { Logger } from '@conform/bus';
import { FILE_ID_PATTERN } from '@conform/contracts';
import {
  fileStatusCounts,
  fileStatuses,
  getFile,
  lastAppliedSequence,
  listFiles,
  type ReadModels,
} from '@conform/projections';
import { StatusListenError } from './errors.js';
import { createMetricsRegistry } from './metrics.js';

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
  const metrics = createMetricsRegistry(db);

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
      return file;
    },
  );

  app.get('/api/summary', async () => {
    const counts = await fileStatusCounts(db);
    const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
    return { total, counts };
  });

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
      (closed ??= app.close().then(() => {
        metrics.clear();
      })),
  };
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
