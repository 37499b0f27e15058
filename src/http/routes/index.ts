import type { RouteDef } from '../route.ts';
import { systemRoutes } from './system.ts';
import { voteRoutes } from './votes.ts';

/** Every API operation, in the order the OpenAPI document lists them. */
export function apiRoutes(): RouteDef[] {
  return [...voteRoutes];
}

export function allRoutes(): RouteDef[] {
  const api = apiRoutes();
  return [...systemRoutes(() => api), ...api];
}
