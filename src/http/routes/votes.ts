import { ConversationParams, ConversationVotes, VoteCreated, VoteInput } from '../../feedback/votes/schema.ts';
import { conversationVotes, eraseConversation, prepareVote } from '../../feedback/votes/service.ts';
import { problems } from '../problem.ts';
import { defineRoutes } from '../routeDef.ts';

export const voteRoutes = defineRoutes(
  {
    operationId: 'createVote',
    method: 'POST',
    path: '/api/v1/votes',
    tag: 'votes',
    summary: 'Record a vote on a chatbot answer',
    description:
      'Appends a vote; a changed vote appends another row, and the latest row per conversation is authoritative. ' +
      'query, response and comment are PII-redacted before they are written; email is stored only as a pseudonym.',
    scope: 'ingest',
    body: VoteInput,
    responses: { 201: { description: 'Stored', schema: VoteCreated } },
    async handle({ body, services, ctx, idempotency }) {
      const row = prepareVote(body as VoteInput, {
        secret: services.piiSecret,
        redactions: services.metrics.piiRedactions,
      });
      // Both paths group concurrent votes into one transaction (src/feedback/votes/writer.ts).
      if (idempotency === null) return { status: 201, body: await services.voteWriter.write(row) };
      const reply = await services.voteWriter.writeIdempotent(idempotency, row);
      if (reply.replayed) ctx.set('Idempotent-Replayed', 'true');
      return reply;
    },
  },
  {
    operationId: 'getConversationVotes',
    method: 'GET',
    path: '/api/v1/conversations/{conversation_id}/votes',
    tag: 'votes',
    summary: "A conversation's vote history and its latest vote",
    scope: 'read',
    params: ConversationParams,
    responses: {
      200: { description: 'History, oldest first; latest is null when there is none', schema: ConversationVotes },
    },
    async handle({ params, services }) {
      const id = params.conversation_id!;
      return { status: 200, body: { conversation_id: id, ...(await conversationVotes(services.pool, id)) } };
    },
  },
  {
    operationId: 'eraseConversation',
    method: 'DELETE',
    path: '/api/v1/conversations/{conversation_id}',
    tag: 'votes',
    summary: "Erase a conversation's votes",
    description: 'Deletes every vote of the conversation here and, at the next export, in the warehouse.',
    scope: 'admin',
    params: ConversationParams,
    responses: { 204: { description: 'Erased' }, 404: { description: 'No votes for this conversation' } },
    async handle({ params, write }) {
      const id = params.conversation_id!;
      const erased = await write(
        (db) => eraseConversation(db, id).then((n) => ({ status: 204, body: { erased: n } })),
        {
          singleStatement: true,
        },
      );
      if ((erased.body as { erased: number }).erased === 0) throw problems.notFound(`Conversation ${id} has no votes.`);
      return { status: 204, body: null };
    },
  },
);
