import { fileStatuses } from '@conform/projections';

const json = (description: string, schema: object = { type: 'object' }) => ({
  description,
  content: { 'application/json': { schema } },
});
const problem = json('A problem: `{ error, message }`', {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
});
const page = [
  {
    name: 'limit',
    in: 'query',
    schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  },
  { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
];
const fileId = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
};
const control = (summary: string, extra: object = {}) => ({
  summary,
  security: [{ bearer: [] }],
  responses: {
    '202': json('The control.requested event was published'),
    '401': problem,
    '403': problem,
  },
  ...extra,
});

/** The OpenAPI 3.0 description of every route, served at /api/openapi.json. */
export function openApiDocument(): object {
  return {
    openapi: '3.0.3',
    info: { title: 'conform status API', version: '1' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths: {
      '/healthz': { get: { summary: 'Liveness', responses: { '200': json('ok') } } },
      '/readyz': {
        get: {
          summary: 'Readiness',
          responses: { '200': json('ready'), '503': json('not ready') },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: { '200': { description: 'text exposition' } },
        },
      },
      '/api/summary': {
        get: {
          summary:
            'Counts per status, compliance, bytes saved, queue depth, active encodes with progress',
          responses: { '200': json('The summary') },
        },
      },
      '/api/files': {
        get: {
          summary: 'Files, filtered and paginated, ordered by library and path',
          parameters: [
            { name: 'status', in: 'query', schema: { type: 'string', enum: [...fileStatuses] } },
            { name: 'library', in: 'query', schema: { type: 'string' } },
            ...page,
          ],
          responses: { '200': json('Files', { type: 'array' }), '400': problem },
        },
      },
      '/api/files/{id}': {
        get: {
          summary: 'One file with its jobs, failures and every event from the log',
          parameters: [fileId],
          responses: { '200': json('The file'), '400': problem, '404': problem },
        },
      },
      '/api/files/{id}/retry': { post: control('Retry a failed file', { parameters: [fileId] }) },
      '/api/jobs': {
        get: {
          summary: 'Encode attempts, newest first',
          parameters: [
            { name: 'outcome', in: 'query', schema: { type: 'string' } },
            { name: 'fileId', in: 'query', schema: { type: 'string' } },
            ...page,
          ],
          responses: { '200': json('Jobs', { type: 'array' }), '400': problem },
        },
      },
      '/api/failures': {
        get: {
          summary: 'Failures; `open=true` for those still waiting on a person',
          parameters: [{ name: 'open', in: 'query', schema: { type: 'boolean' } }, ...page],
          responses: { '200': json('Failures', { type: 'array' }), '400': problem },
        },
      },
      '/api/compliance': {
        get: {
          summary: 'Compliance per library',
          responses: { '200': json('Libraries', { type: 'array' }) },
        },
      },
      '/api/savings': {
        get: {
          summary: 'Bytes saved per library and day',
          responses: { '200': json('Savings', { type: 'array' }) },
        },
      },
      '/api/dead-letters': {
        get: {
          summary: 'Dead-lettered messages',
          parameters: page,
          responses: { '200': json('Dead letters', { type: 'array' }) },
        },
      },
      '/api/events': {
        get: {
          summary: 'Live stream (server-sent events): `event` and `progress` messages',
          responses: { '200': { description: 'text/event-stream' } },
        },
      },
      '/api/control/pause': {
        post: control(
          'Pause every encoder; `now: true` also returns running encodes to the queue',
          {
            requestBody: json('Options', {
              type: 'object',
              properties: { now: { type: 'boolean' } },
            }),
          },
        ),
      },
      '/api/control/resume': { post: control('Resume every encoder') },
    },
  };
}
