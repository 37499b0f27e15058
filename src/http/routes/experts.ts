import { getExpertFeedback, prepareExpertFeedback, recordExpertFeedback } from '../../feedback/experts/feedback.ts';
import { createExpert, getExpert, patchExpert } from '../../feedback/experts/profiles.ts';
import {
  Expert,
  ExpertFeedback,
  ExpertFeedbackInput,
  ExpertInput,
  ExpertPatch,
  IdParams,
} from '../../feedback/experts/schema.ts';
import { promoteFeedback } from '../../feedback/faq/entries.ts';
import { Promoted } from '../../feedback/faq/schema.ts';
import { defineRoutes } from '../routeDef.ts';

export const expertRoutes = defineRoutes(
  {
    operationId: 'createExpert',
    method: 'POST',
    path: '/api/v1/experts',
    tag: 'experts',
    summary: 'Create an expert profile',
    description: 'user_ref is unique, and so is registration_number within its credential_type (409 when taken).',
    scope: 'ingest',
    body: ExpertInput,
    responses: {
      201: { description: 'Created', schema: Expert },
      409: { description: 'user_ref or registration taken' },
    },
    async handle({ body, write }) {
      return write(async (db) => ({ status: 201, body: await createExpert(db, body as ExpertInput) }), {
        singleStatement: true,
      });
    },
  },
  {
    operationId: 'getExpert',
    method: 'GET',
    path: '/api/v1/experts/{id}',
    tag: 'experts',
    summary: 'An expert profile',
    scope: 'read',
    params: IdParams,
    responses: { 200: { description: 'The profile', schema: Expert }, 404: { description: 'No such expert' } },
    async handle({ params, services }) {
      return { status: 200, body: await getExpert(services.pool, params.id!) };
    },
  },
  {
    operationId: 'updateExpert',
    method: 'PATCH',
    path: '/api/v1/experts/{id}',
    tag: 'experts',
    summary: 'Update an expert profile',
    description:
      'Changes only the fields sent (null clears registration_number). A new trust_score applies to feedback ' +
      'recorded from then on; pending candidates stay pending.',
    scope: 'admin',
    params: IdParams,
    body: ExpertPatch,
    responses: { 200: { description: 'Updated', schema: Expert }, 404: { description: 'No such expert' } },
    async handle({ params, body, write }) {
      return write(async (db) => ({ status: 200, body: await patchExpert(db, params.id!, body as ExpertPatch) }), {
        singleStatement: true,
      });
    },
  },
  {
    operationId: 'createExpertFeedback',
    method: 'POST',
    path: '/api/v1/expert-feedback',
    tag: 'experts',
    summary: "Record an expert's review of an AI answer",
    description:
      'query_text, original_answer and improved_answer are PII-redacted. incomplete or incorrect feedback with an ' +
      "improved_answer makes an FAQ candidate, auto-approved (FAQ entry made, generated_faq_id set) when the expert's " +
      'trust_score is at least FAQ_AUTO_APPROVE_TRUST (default 0.9), else pending. 422 naming /expert_id when the ' +
      'expert does not exist or is inactive.',
    scope: 'ingest',
    body: ExpertFeedbackInput,
    responses: { 201: { description: 'Recorded', schema: ExpertFeedback } },
    async handle({ body, services, write }) {
      const row = prepareExpertFeedback(body as ExpertFeedbackInput, services.metrics.piiRedactions);
      return write(async (db) => ({
        status: 201,
        body: await recordExpertFeedback(db, row, services.config.faqAutoApproveTrust),
      }));
    },
  },
  {
    operationId: 'getExpertFeedback',
    method: 'GET',
    path: '/api/v1/expert-feedback/{id}',
    tag: 'experts',
    summary: 'One expert feedback, with its FAQ candidate and generated FAQ',
    scope: 'read',
    params: IdParams,
    responses: {
      200: { description: 'The feedback', schema: ExpertFeedback },
      404: { description: 'No such feedback' },
    },
    async handle({ params, services }) {
      return { status: 200, body: await getExpertFeedback(services.pool, params.id!) };
    },
  },
  {
    operationId: 'promoteExpertFeedback',
    method: 'POST',
    path: '/api/v1/expert-feedback/{id}/promote',
    tag: 'experts',
    summary: 'Turn correct feedback into an FAQ entry',
    description:
      "Makes an FAQ entry from the feedback's question and answer (the improved_answer when given) and sets its " +
      'generated_faq_id in the same transaction. No body. Concurrent promotions of the same feedback make one entry.',
    scope: 'ingest',
    params: IdParams,
    responses: {
      201: { description: 'Promoted', schema: Promoted },
      404: { description: 'No such feedback' },
      409: { description: 'Already promoted (faq_entry_id names its entry)' },
      422: { description: 'The feedback is not correct' },
    },
    async handle({ params, write }) {
      return write(async (db) => ({ status: 201, body: { faq_entry: await promoteFeedback(db, params.id!) } }));
    },
  },
);
