import {
  InterviewFeedback,
  InterviewFeedbackInput,
  Session,
  SessionInput,
  SessionParams,
} from '../../feedback/interviews/schema.ts';
import {
  createInterviewFeedback,
  createSession,
  getInterviewFeedback,
  prepareInterviewFeedback,
  putInterviewFeedback,
} from '../../feedback/interviews/service.ts';
import { defineRoutes } from '../routeDef.ts';

const REDACTED =
  'technical_feedback, communication_feedback, problem_solving_feedback, relevance_feedback, overall_comments and ' +
  'each string of knowledge_gaps and learning_recommendations are PII-redacted before they are written.';

export const interviewRoutes = defineRoutes(
  {
    operationId: 'createInterviewSession',
    method: 'POST',
    path: '/api/v1/interview-sessions',
    tag: 'interviews',
    summary: 'Create an interview session',
    description: 'external_ref is your id for the interview (unique: 409 when taken); the title is PII-redacted.',
    scope: 'ingest',
    body: SessionInput,
    responses: { 201: { description: 'Created', schema: Session }, 409: { description: 'external_ref is taken' } },
    async handle({ body, services, write }) {
      return write(
        async (db) => ({
          status: 201,
          body: await createSession(db, body as SessionInput, services.metrics.piiRedactions),
        }),
        { singleStatement: true },
      );
    },
  },
  {
    operationId: 'createInterviewFeedback',
    method: 'POST',
    path: '/api/v1/interview-sessions/{id}/feedback',
    tag: 'interviews',
    summary: "Attach the session's feedback",
    description: `A session has at most one feedback: a second POST is 409 (PUT replaces). ${REDACTED}`,
    scope: 'ingest',
    params: SessionParams,
    body: InterviewFeedbackInput,
    responses: {
      201: { description: 'Created', schema: InterviewFeedback },
      404: { description: 'No such interview session' },
      409: { description: 'The session already has feedback' },
    },
    async handle({ params, body, services, write }) {
      const row = prepareInterviewFeedback(body as InterviewFeedbackInput, params.id!, services.metrics.piiRedactions);
      return write(async (db) => ({ status: 201, body: await createInterviewFeedback(db, row) }), {
        singleStatement: true,
      });
    },
  },
  {
    operationId: 'putInterviewFeedback',
    method: 'PUT',
    path: '/api/v1/interview-sessions/{id}/feedback',
    tag: 'interviews',
    summary: "Replace (or create) the session's feedback",
    description: `Replaces every field; absent optional fields become null or empty. ${REDACTED}`,
    scope: 'ingest',
    params: SessionParams,
    body: InterviewFeedbackInput,
    responses: {
      200: { description: 'Replaced', schema: InterviewFeedback },
      201: { description: 'Created', schema: InterviewFeedback },
      404: { description: 'No such interview session' },
    },
    async handle({ params, body, services, write }) {
      const row = prepareInterviewFeedback(body as InterviewFeedbackInput, params.id!, services.metrics.piiRedactions);
      return write(
        async (db) => {
          const { created, feedback } = await putInterviewFeedback(db, row);
          return { status: created ? 201 : 200, body: feedback };
        },
        { singleStatement: true },
      );
    },
  },
  {
    operationId: 'getInterviewFeedback',
    method: 'GET',
    path: '/api/v1/interview-sessions/{id}/feedback',
    tag: 'interviews',
    summary: "The session's feedback",
    scope: 'read',
    params: SessionParams,
    responses: {
      200: { description: 'The feedback', schema: InterviewFeedback },
      404: { description: 'No such session, or it has no feedback yet' },
    },
    async handle({ params, services }) {
      return { status: 200, body: await getInterviewFeedback(services.pool, params.id!) };
    },
  },
);
