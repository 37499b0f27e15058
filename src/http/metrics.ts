import client from 'prom-client';
import type { Pool } from '../db/pool.ts';

/** The service's Prometheus metrics, on a registry of its own so tests can build many apps side by side. */
export interface Metrics {
  readonly registry: client.Registry;
  readonly httpRequests: client.Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: client.Histogram<'method' | 'route' | 'status'>;
  readonly piiRedactions: client.Counter<'kind'>;
  readonly queries: client.Counter<'outcome'>;
}

export function createMetrics(pool: Pool, options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new client.Registry();
  if (options.defaultMetrics) client.collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  const httpRequests = new client.Counter({
    name: 'fw_http_requests_total',
    help: 'HTTP requests by method, route template and status.',
    labelNames,
    registers: [registry],
  });
  const httpDuration = new client.Histogram({
    name: 'fw_http_request_duration_seconds',
    help: 'HTTP request latency by method, route template and status.',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const piiRedactions = new client.Counter({
    name: 'fw_pii_redactions_total',
    help: 'PII values replaced by a placeholder before a write, by kind.',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const queries = new client.Counter({
    name: 'fw_queries_total',
    help: 'Queries sent to POST /api/v1/query, by outcome (ok, refused, error, timeout, busy, not_exported).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const poolGauge = (name: string, help: string, read: () => number) =>
    new client.Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  poolGauge('fw_pg_pool_connections', 'Postgres connections open in the pool.', () => pool.totalCount);
  poolGauge('fw_pg_pool_idle', 'Postgres connections idle in the pool.', () => pool.idleCount);
  poolGauge('fw_pg_pool_waiting', 'Requests waiting for a Postgres connection.', () => pool.waitingCount);
  return { registry, httpRequests, httpDuration, piiRedactions, queries };
}
