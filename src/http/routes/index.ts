import type { RouteDef } from '../routeDef.ts';
import { systemRoutes } from './system.ts';
import { voteRoutes } from './votes.ts';
import { interviewRoutes } from './interviews.ts';
import { expertRoutes } from './experts.ts';
import { faqRoutes } from './faq.ts';
import { batchRoutes } from './batch.ts';
import { rollupRoutes } from './rollups.ts';
import { jobRoutes } from './jobs.ts';
import { queryRoutes } from './query.ts';
import { keyRoutes } from './keys.ts';

/** Every API operation, in the order the OpenAPI document lists them. */
export function apiRoutes(): RouteDef[] {
  return [
    ...voteRoutes,
    ...interviewRoutes,
    ...expertRoutes,
    ...faqRoutes,
    ...batchRoutes,
    ...rollupRoutes,
    ...queryRoutes,
    ...jobRoutes,
    ...keyRoutes,
  ];
}

export function allRoutes(): RouteDef[] {
  const api = apiRoutes();
  return [...systemRoutes(() => api), ...api];
}
