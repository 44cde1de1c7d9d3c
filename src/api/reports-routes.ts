/** GET /v1/reports/{id}: current state, the journal built, every posting attempt, and the timeline. */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../errors.ts';
import { readReportView } from '../store/reports.ts';
import type { AppDeps } from './app.ts';

export function registerReportRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { id: string } }>(
    '/v1/reports/:id',
    {
      schema: {
        summary: 'One report: state, journal, postings with every attempt, and its timeline from the event log',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
      },
    },
    async (request) => {
      const view = await readReportView(deps.store.db, request.params.id);
      if (!view) throw new AppError('REPORT_NOT_FOUND', { reportId: request.params.id });
      return view;
    },
  );
}
