/**
 * POST /v1/reimbursements: the payment run reports a reimbursement milestone of a posted report
 * (scheduled, paid, failed, returned). It joins the report's timeline and, for a report from SAP
 * Concur FIS, is confirmed to Concur as a payment (src/sources/reimbursements.ts).
 */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Broker } from '../pipeline/broker.ts';
import type { Clock } from '../pipeline/clock.ts';
import type { Metrics } from '../observability/metrics.ts';
import { MILESTONES, recordMilestone, type Milestone } from '../sources/reimbursements.ts';
import type { Store } from '../store/db.ts';

const ErrorSchema = Type.Object({ code: Type.String(), message: Type.String(), correlationId: Type.String(), details: Type.Optional(Type.Unknown()) });

export function registerReimbursementRoutes(app: FastifyInstance, deps: { readonly store: Store; readonly clock: Clock; readonly broker: Broker; readonly metrics: Metrics }): void {
  app.post<{ Body: { reportId: string; milestone: Milestone; reference: string; at?: string; amount?: string; currency?: string; partial?: boolean } }>(
    '/v1/reimbursements',
    {
      schema: {
        tags: ['reports'],
        summary: 'Record a reimbursement milestone of a posted report (from the payment run); a report from SAP Concur FIS gets its payment confirmation (paid: CP or PP, returned: RE). A repeat (same report, milestone and reference) is answered as a duplicate',
        body: Type.Object(
          {
            reportId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' }),
            milestone: Type.Unsafe<Milestone>({ type: 'string', enum: [...MILESTONES] }),
            reference: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f]+$', description: 'the payment reference in the payment run or bank file' }),
            at: Type.Optional(Type.String({ format: 'date-time' })),
            amount: Type.Optional(Type.String({ pattern: '^\\d{1,15}(\\.\\d{1,4})?$', description: 'decimal string in currency' })),
            currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
            partial: Type.Optional(Type.Boolean({ description: 'paid: part of the amount due only (PP)' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            reportId: Type.String(),
            milestone: Type.String(),
            status: Type.Unsafe<'recorded' | 'duplicate'>({ type: 'string', enum: ['recorded', 'duplicate'] }),
            platformCode: Type.Union([Type.String(), Type.Null()], { description: 'the Concur FIS payment code queued: CP, PP or RE' }),
          }),
          '4xx': ErrorSchema,
        },
      },
    },
    async (request) => {
      const result = await recordMilestone(deps.store, request.body, deps.clock.now());
      if (result.status === 'recorded') {
        deps.metrics.reimbursements.inc({ milestone: result.milestone });
        if (result.platformCode !== null) deps.broker.notify();
      }
      return result;
    },
  );
}
