/* global module */
/**
 * The layering of docs/ARCHITECTURE.md ("Layers"), checked by `npm run lint`:
 *
 *   cli -> server -> { http, jobs } -> { feedback, warehouse, idempotency } -> { db, privacy, auth, validation }
 *       -> { config, log, errors, processAlive }
 *
 * A module imports only from layers to its right. Type-only imports count (tsPreCompilationDeps), so a type cycle
 * is reported like any other.
 */
const CLI = '^(src/bin\\.js|src/cli/)';
const SERVER = '^src/server\\.ts$';
const HTTP = '^src/http/';
const JOBS = '^jobs/';
const DOMAIN = '^src/(feedback|warehouse|idempotency)/';
const BASE = '^src/(db|privacy|auth|validation)/';
const BOTTOM = '^src/(config|log|errors|processAlive)\\.ts$';

/** A rule that nothing matching `from` (and not `fromNot`) imports anything matching `to` (and not `toNot`). */
function forbid(name, comment, from, to, fromNot, toNot) {
  return {
    name,
    comment,
    severity: 'error',
    from: fromNot ? { path: from, pathNot: fromNot } : { path: from },
    to: toNot ? { path: to, pathNot: toNot } : { path: to },
  };
}

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles, type-only imports included (docs/ARCHITECTURE.md "Layers").',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    forbid('only-cli-imports-cli', 'Only the command line imports the command line.', '^(src|jobs)/', CLI, CLI),
    forbid(
      'only-cli-imports-server',
      'src/server.ts builds the services; only the command line starts it.',
      '^(src|jobs)/',
      SERVER,
      `${CLI}|${SERVER}`,
    ),
    forbid('jobs-not-to-http', 'Jobs run without HTTP; http starts jobs, never the reverse.', JOBS, HTTP),
    forbid(
      'domain-not-up',
      'Domain code (feedback, warehouse, idempotency) never imports http, jobs, the server or the command line.',
      DOMAIN,
      `${HTTP}|${JOBS}|${SERVER}|${CLI}`,
      CLI,
    ),
    forbid(
      'idempotency-not-to-feedback-or-warehouse',
      'The idempotency store serves feedback and http; it knows nothing of what is written under a key.',
      '^src/idempotency/',
      '^src/(feedback|warehouse)/',
    ),
    forbid(
      'base-not-up',
      'db, privacy, auth and validation know nothing of the layers above them.',
      BASE,
      `${DOMAIN}|${HTTP}|${JOBS}|${SERVER}|${CLI}`,
      CLI,
    ),
    forbid(
      'bottom-not-up',
      'config, log and the domain errors import nothing of the product.',
      BOTTOM,
      '^(src|jobs)/',
      undefined,
      BOTTOM,
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dashboards/vendor)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
