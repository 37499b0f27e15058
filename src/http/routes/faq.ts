import { IdParams } from '../../feedback/experts/schema.ts';
import { decideCandidate, listCandidates } from '../../feedback/faq/candidates.ts';
import { deleteFaqEntry, listFaqEntries } from '../../feedback/faq/entries.ts';
import {
  CandidateDecision,
  FaqCandidatePage,
  FaqCandidatesQuery,
  FaqEntriesQuery,
  FaqEntryPage,
} from '../../feedback/faq/schema.ts';
import { problems } from '../problem.ts';
import { defineRoutes, type HandlerInput } from '../routeDef.ts';

function decide(decision: 'approved' | 'rejected') {
  return async ({ params, apiKey, write }: HandlerInput) =>
    write(async (db) => ({
      status: 200,
      body: await decideCandidate(db, params.id!, decision, apiKey?.name ?? 'unknown'),
    }));
}

export const faqRoutes = defineRoutes(
  {
    operationId: 'listFaqEntries',
    method: 'GET',
    path: '/api/v1/faq-entries',
    tag: 'faq',
    summary: 'FAQ entries, newest first',
    description: 'Filter by category or origin; page with limit and the next_cursor of the previous page.',
    scope: 'read',
    query: FaqEntriesQuery,
    responses: {
      200: { description: 'A page', schema: FaqEntryPage },
      422: { description: 'A query parameter is invalid' },
    },
    async handle({ query, services }) {
      return { status: 200, body: await listFaqEntries(services.pool, query as FaqEntriesQuery) };
    },
  },
  {
    operationId: 'deleteFaqEntry',
    method: 'DELETE',
    path: '/api/v1/faq-entries/{id}',
    tag: 'faq',
    summary: 'Delete an FAQ entry',
    description:
      "Its source feedback stays; the feedback's generated_faq_id becomes null. Gone from the warehouse at the next export.",
    scope: 'admin',
    params: IdParams,
    responses: { 204: { description: 'Deleted' }, 404: { description: 'No such FAQ entry' } },
    async handle({ params, write }) {
      const id = params.id!;
      const reply = await write(async (db) => ({ status: 204, body: { deleted: await deleteFaqEntry(db, id) } }), {
        singleStatement: true,
      });
      if (!(reply.body as { deleted: boolean }).deleted) throw problems.notFound(`FAQ entry ${id} does not exist.`);
      return { status: 204, body: null };
    },
  },
  {
    operationId: 'listFaqCandidates',
    method: 'GET',
    path: '/api/v1/faq-candidates',
    tag: 'faq',
    summary: 'FAQ candidates, newest first',
    description: 'status=pending lists what awaits an admin decision.',
    scope: 'read',
    query: FaqCandidatesQuery,
    responses: {
      200: { description: 'A page', schema: FaqCandidatePage },
      422: { description: 'A query parameter is invalid' },
    },
    async handle({ query, services }) {
      return { status: 200, body: await listCandidates(services.pool, query as FaqCandidatesQuery) };
    },
  },
  {
    operationId: 'approveFaqCandidate',
    method: 'POST',
    path: '/api/v1/faq-candidates/{id}/approve',
    tag: 'faq',
    summary: 'Approve a pending FAQ candidate',
    description:
      "Makes the FAQ entry and sets the source feedback's generated_faq_id, in one transaction. No body. " +
      '409 when the candidate was already approved or rejected.',
    scope: 'admin',
    params: IdParams,
    responses: {
      200: { description: 'Approved', schema: CandidateDecision },
      404: { description: 'No such candidate' },
      409: { description: 'Already decided' },
    },
    handle: decide('approved'),
  },
  {
    operationId: 'rejectFaqCandidate',
    method: 'POST',
    path: '/api/v1/faq-candidates/{id}/reject',
    tag: 'faq',
    summary: 'Reject a pending FAQ candidate',
    description: 'No body. 409 when the candidate was already approved or rejected.',
    scope: 'admin',
    params: IdParams,
    responses: {
      200: { description: 'Rejected', schema: CandidateDecision },
      404: { description: 'No such candidate' },
      409: { description: 'Already decided' },
    },
    handle: decide('rejected'),
  },
);
