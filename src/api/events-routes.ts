/** POST /v1/events: CloudEvents 1.0, structured JSON, one event or a batch. */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { CloudEventSchema, MAX_EVENTS_PER_BATCH } from '../domain/events.ts';
import { ingestEvents } from '../pipeline/ingest.ts';
import { parseEventBody } from '../pipeline/parse-events.ts';
import type { AppDeps } from './app.ts';

const ResultSchema = Type.Object({
  id: Type.String(),
  source: Type.String(),
  status: Type.Union([Type.Literal('accepted'), Type.Literal('duplicate')]),
  correlationId: Type.String(),
  reportId: Type.String(),
});

const ErrorSchema = Type.Object({ code: Type.String(), message: Type.String(), correlationId: Type.String(), details: Type.Optional(Type.Unknown()) });

export function registerEventRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.post(
    '/v1/events',
    {
      schema: {
        summary: 'Submit expense report events (CloudEvents 1.0, structured JSON; one event or a batch)',
        description: `Types: report approved, updated, recalled (see docs/events.md). At most ${MAX_EVENTS_PER_BATCH} events per request. Stored durably before the 202 answer. A repeated event (same source and id, same body) answers the same; the same id with a different body is refused with 409 EVENT_ID_CONFLICT.`,
        body: Type.Union([CloudEventSchema, Type.Array(CloudEventSchema, { maxItems: MAX_EVENTS_PER_BATCH })]),
        response: {
          202: Type.Object({ correlationId: Type.String(), accepted: Type.Integer(), duplicates: Type.Integer(), results: Type.Array(ResultSchema) }),
          '4xx': ErrorSchema,
        },
      },
      // The body is checked by parseEventBody, which names the event and field and returns stable
      // codes; the schema above documents it in the OpenAPI description.
      validatorCompiler: () => (data) => ({ value: data }),
    },
    async (request, reply) => {
      const events = parseEventBody(request.body);
      const results = await ingestEvents(deps.store, events, deps.clock.now());
      deps.broker.notify();
      for (const [i, r] of results.entries()) deps.metrics.eventsReceived.inc({ type: events[i].type, outcome: r.status });
      const duplicates = results.filter((r) => r.status === 'duplicate').length;
      if (duplicates > 0) deps.metrics.duplicatesPrevented.inc({ where: 'inbox' }, duplicates);
      return reply.status(202).send({ correlationId: results[0].correlationId, accepted: results.length - duplicates, duplicates, results });
    },
  );
}
