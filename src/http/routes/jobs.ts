import { Type, type TSchema } from '@sinclair/typebox';
import { JobAlreadyRunning, UnknownJob } from '../../../jobs/runner.ts';
import { getRun, runJson } from '../../../jobs/jobRuns.ts';
import { jobsOverview } from '../../../jobs/summary.ts';
import { problems } from '../problem.ts';
import { defineRoutes } from '../routeDef.ts';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const JobRunSchema = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  trigger: Type.Union([Type.Literal('schedule'), Type.Literal('api'), Type.Literal('cli')]),
  status: Type.Union([
    Type.Literal('running'),
    Type.Literal('succeeded'),
    Type.Literal('failed'),
    Type.Literal('skipped'),
    Type.Literal('abandoned'),
  ]),
  started_at: Type.String({ format: 'date-time' }),
  finished_at: Nullable(Type.String({ format: 'date-time' })),
  duration_ms: Type.Union([Type.Integer(), Type.Null()]),
  rows: Type.Record(Type.String(), Type.Integer(), {
    description: 'Rows per table (export: rows copied into the warehouse)',
  }),
  lag_seconds: Type.Union([Type.Number(), Type.Null()], {
    description:
      'Export: age of the oldest open write transaction when the snapshot was taken (it holds the watermark back)',
  }),
  error: Nullable(Type.String()),
  detail: Type.Record(Type.String(), Type.Unknown(), {
    description: 'Export: mode, reason, as_of, watermark, per-table counts',
  }),
  host: Type.String(),
  pid: Type.Integer(),
});

const JobsOverview = Type.Object({
  jobs: Type.Array(
    Type.Object({
      name: Type.String(),
      description: Type.String(),
      schedule: Nullable(Type.String({ description: 'cron expression, evaluated in UTC' })),
      schedule_timezone: Type.Literal('UTC'),
      next_run_at: Nullable(
        Type.String({ format: 'date-time', description: 'When the schedule next fires (on servers running jobs)' }),
      ),
      running: Type.Union([JobRunSchema, Type.Null()]),
      last_run: Type.Union([JobRunSchema, Type.Null()]),
    }),
  ),
  warehouses: Type.Array(
    Type.Object({
      warehouse: Type.String({ description: 'host:WAREHOUSE_DIR' }),
      as_of: Type.String({ format: 'date-time' }),
      watermark: Type.String({ description: 'xid8 the next export starts from' }),
      mode: Type.String(),
      system_identifier: Nullable(Type.String()),
      last_run_id: Type.Union([Type.Integer(), Type.Null()]),
      updated_at: Type.String({ format: 'date-time' }),
    }),
  ),
  recent_runs: Type.Array(JobRunSchema),
});

const JobParams = Type.Object(
  { name: Type.String({ pattern: '^[a-z][a-z0-9-]{0,62}$' }) },
  { additionalProperties: false },
);
const RunParams = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z][a-z0-9-]{0,62}$' }),
    id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  },
  { additionalProperties: false },
);
const RunQuery = Type.Object(
  {
    full: Type.Optional(
      Type.Boolean({ description: 'export only: rebuild every table instead of the changes since the watermark' }),
    ),
  },
  { additionalProperties: false },
);

/** The jobs API (admin scope; docs/decisions/0015). */
export const jobRoutes = defineRoutes(
  {
    operationId: 'listJobs',
    method: 'GET',
    path: '/api/v1/jobs',
    tag: 'jobs',
    summary:
      'Jobs, their schedules, the run in progress, the last and the recent runs, and each warehouse’s export state',
    scope: 'admin',
    responses: { 200: { description: 'The jobs', schema: JobsOverview } },
    async handle({ services }) {
      return { status: 200, body: await jobsOverview(services.jobs, services.pool) };
    },
  },
  {
    operationId: 'runJob',
    method: 'POST',
    path: '/api/v1/jobs/{name}/run',
    tag: 'jobs',
    summary: 'Start a job now',
    description:
      'Starts the job in the background and answers 202 with the run (status "running"); follow it at the Location. ' +
      '409 while the job is running, on this server or another one. The export job accepts ?full=true.',
    scope: 'admin',
    params: JobParams,
    query: RunQuery,
    responses: {
      202: { description: 'Started', schema: Type.Object({ run: JobRunSchema }) },
      404: { description: 'No such job' },
      409: { description: 'The job is already running' },
    },
    async handle({ ctx, params, query, services, write }) {
      const name = params.name!;
      const reply = await write(
        async () => {
          try {
            const { run } = await services.jobs.start(name, 'api', { full: query.full === true });
            return { status: 202, body: { run: runJson(run) } };
          } catch (error) {
            if (error instanceof UnknownJob) throw problems.notFound(error.message);
            if (error instanceof JobAlreadyRunning) {
              throw problems.conflict(error.message, error.run ? { run_id: error.run.id } : undefined);
            }
            throw error;
          }
        },
        { singleStatement: true },
      );
      const id = (reply.body as { run: { id: number } }).run.id;
      ctx.set('Location', `/api/v1/jobs/${encodeURIComponent(name)}/runs/${id}`);
      return reply;
    },
  },
  {
    operationId: 'getJobRun',
    method: 'GET',
    path: '/api/v1/jobs/{name}/runs/{id}',
    tag: 'jobs',
    summary: 'One run of a job',
    scope: 'admin',
    params: RunParams,
    responses: {
      200: { description: 'The run', schema: JobRunSchema },
      404: { description: 'No such run of this job' },
    },
    async handle({ params, services }) {
      const run = await getRun(services.pool, params.name!, Number(params.id));
      if (!run) throw problems.notFound(`Job ${params.name} has no run ${params.id}.`);
      return { status: 200, body: runJson(run) };
    },
  },
);
