/**
 * The master-data API: push records (any system's view, atomically), read a record's versions and
 * history, the drift report, and the sources with their last run (and a run on demand).
 */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../errors.ts';
import { computeDrift, DRIFT_CLASSES } from '../masterdata/drift.ts';
import { checkBatch } from '../masterdata/feed.ts';
import type { MasterDataHub } from '../masterdata/hub.ts';
import { readRecordHistory } from '../masterdata/md-store.ts';
import { isCalendarDate, KINDS, SYSTEMS, type Kind, type System } from '../masterdata/records.ts';
import { readSourceStatus, runSync, type SyncContext } from '../masterdata/sources.ts';
import type { Clock } from '../pipeline/clock.ts';
import type { Store } from '../store/db.ts';

export const MAX_PUSH_RECORDS = 5_000;

export interface MasterDataRouteDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly masterData: MasterDataHub;
  readonly sync: SyncContext;
}

const KindParam = Type.Union(KINDS.map((k) => Type.Literal(k)));
const SystemParam = Type.Union(SYSTEMS.map((s) => Type.Literal(s)));
const IsoDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });

export function registerMasterDataRoutes(app: FastifyInstance, deps: MasterDataRouteDeps): void {
  app.post<{ Body: { system: System; records: unknown[] } }>(
    '/v1/master-data/records',
    {
      schema: {
        summary: 'Push master-data records (one system view); the batch is checked whole and applied atomically, and reports waiting for these records resume',
        body: Type.Object({ system: SystemParam, records: Type.Array(Type.Unknown(), { minItems: 1 }) }, { additionalProperties: false }),
      },
    },
    async (request) => {
      const { system, records } = request.body;
      if (records.length > MAX_PUSH_RECORDS) throw new AppError('MD_BATCH_TOO_LARGE', { count: records.length, max: MAX_PUSH_RECORDS });
      const entities = new Set(deps.masterData.entities.map((e) => e.code));
      const checked = checkBatch(records.map((input, i) => ({ input, path: `records[${i}]` })), system, entities);
      if (!checked.ok) {
        const first = checked.problems[0];
        throw new AppError('MD_IMPORT_INVALID', { file: 'request body', count: checked.problems.length, first: first.message }, checked.problems);
      }
      return deps.masterData.apply(system, 'api', checked.records);
    },
  );

  app.get<{ Params: { kind: Kind; entity: string; key: string }; Querystring: { date?: string } }>(
    '/v1/master-data/records/:kind/:entity/:key',
    {
      schema: {
        summary: 'One record: what validation uses on a date, each system’s current versions, and every version ever held (who sent it, when it was replaced)',
        params: Type.Object({ kind: KindParam, entity: Type.String({ minLength: 1, maxLength: 40 }), key: Type.String({ minLength: 1, maxLength: 64 }) }),
        querystring: Type.Object({ date: Type.Optional(IsoDate) }, { additionalProperties: false }),
      },
    },
    async (request) => {
      const { kind, entity, key } = request.params;
      const date = request.query.date ?? today(deps.clock);
      if (!isCalendarDate(date)) throw new AppError('REQUEST_INVALID', { detail: `date ${date} is not a calendar date` });
      const history = await readRecordHistory(deps.store.db, kind, entity, key);
      if (history.length === 0) throw new AppError('MD_RECORD_NOT_FOUND', { kind, entity, key });
      const lookup = deps.masterData.index.lookup(kind, entity, key, date);
      const current: Record<string, unknown[]> = {};
      for (const v of history.filter((h) => h.replacedAt === null)) (current[v.system] ??= []).push(view(v));
      return {
        kind,
        entity,
        key,
        onDate: { date, found: lookup.found, active: lookup.found && lookup.active, ...(lookup.found && { version: lookup.record }) },
        current,
        history: history.map((v) => ({ ...view(v), seq: v.seq, source: v.source, recordedAt: new Date(v.recordedAt).toISOString(), replacedAt: v.replacedAt === null ? null : new Date(v.replacedAt).toISOString() })),
      };
    },
  );

  app.get<{ Querystring: { entity?: string; kind?: Kind; asOf?: string; limit?: number } }>(
    '/v1/master-data/drift',
    {
      schema: {
        summary: `Records that differ between the ERP and the other systems (${DRIFT_CLASSES.join(', ')}), counted per entity, each with the reports it blocks`,
        querystring: Type.Object(
          { entity: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })), kind: Type.Optional(KindParam), asOf: Type.Optional(IsoDate), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const entities = deps.masterData.entities.map((e) => e.code);
      const { entity, kind, asOf, limit } = request.query;
      if (entity !== undefined && !entities.includes(entity)) throw new AppError('MD_ENTITY_NOT_CONFIGURED', { path: 'entity', entity, configured: entities.join(', ') });
      if (asOf !== undefined && !isCalendarDate(asOf)) throw new AppError('REQUEST_INVALID', { detail: `asOf ${asOf} is not a calendar date` });
      return computeDrift(deps.store.db, { asOf: asOf ?? today(deps.clock), entities, ...(entity && { entity }), ...(kind && { kind }), ...(limit && { limit }) });
    },
  );

  app.get('/v1/master-data/sources', { schema: { summary: 'Configured master-data sources: schedule, next run, cursor and the last run' } }, async () => ({ sources: await readSourceStatus(deps.sync) }));

  app.post<{ Params: { name: string } }>(
    '/v1/master-data/sources/:name/sync',
    { schema: { summary: 'Run one source now and wait for it; 409 while another run of it holds the lease', params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 40 }) }) } },
    async (request) => runSync(deps.sync, request.params.name),
  );
}

function today(clock: Clock): string {
  return new Date(clock.now()).toISOString().slice(0, 10);
}

function view(v: { system: string; validFrom: string; validTo: string; active: boolean; attributes: Readonly<Record<string, unknown>> }) {
  return { system: v.system, validFrom: v.validFrom, validTo: v.validTo, active: v.active, attributes: v.attributes };
}
