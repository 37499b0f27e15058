import { BatchCreated, BatchInput } from '../../feedback/batch/schema.ts';
import { prepareBatch, writeBatch } from '../../feedback/batch/service.ts';
import { defineRoutes } from '../routeDef.ts';

export const batchRoutes = defineRoutes({
  operationId: 'createBatch',
  method: 'POST',
  path: '/api/v1/batch',
  tag: 'batch',
  summary: 'Write up to 1,000 votes, expert feedbacks and interview feedbacks at once',
  description:
    'One transaction, all or nothing. Each item is {type, data}; data is the body of the single-item endpoint ' +
    '(interview_feedback adds session_id). A 422 lists every failing item: errors[].path is /items/{index}/data/... ' +
    'and failed_indexes names the indexes. More than 1,000 items: 413. The same rules apply as one by one: PII ' +
    'redaction, FAQ candidates and their auto-approval, one feedback per interview session (409).',
  scope: 'ingest',
  body: BatchInput,
  responses: {
    201: { description: 'Every item written; ids in request order', schema: BatchCreated },
    409: { description: 'An interview session already has feedback' },
    413: { description: 'More than 1,000 items, or a body over 1 MB' },
  },
  async handle({ body, services, write }) {
    const batch = prepareBatch(body as BatchInput, {
      secret: services.piiSecret,
      redactions: services.metrics.piiRedactions,
    });
    return write(async (db) => ({
      status: 201,
      body: { items: await writeBatch(db, batch, services.config.faqAutoApproveTrust, services.copyIn) },
    }));
  },
});
