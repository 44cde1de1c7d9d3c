/**
 * Prometheus metrics, one registry per hub instance (so tests and the demo never share state).
 * Business metrics first: postings by outcome, quarantines by code, approval-to-posted lag,
 * duplicates prevented.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly eventsReceived: Counter<'type' | 'outcome'>;
  readonly postings: Counter<'target' | 'kind' | 'outcome'>;
  readonly quarantines: Counter<'code'>;
  readonly duplicatesPrevented: Counter<'where'>;
  readonly approvalToPostedSeconds: Histogram<'target'>;
  readonly postingAttempts: Counter<'target' | 'result'>;
  readonly laneInFlight: Gauge<'target'>;
  readonly circuitOpen: Gauge<'target'>;
  readonly lanePaused: Gauge<'target'>;
  readonly masterDataSyncs: Counter<'source' | 'status'>;
  readonly masterDataRecordsChanged: Counter<'source'>;
  readonly revisionsResumed: Counter;
  readonly mappingDefects: Counter<'entity' | 'version' | 'code'>;
  readonly revisionsReplayed: Counter<'entity'>;
  readonly recoverySeconds: Histogram<'entity'>;
  readonly reimbursements: Counter<'milestone'>;
  readonly reconciliationBreaks: Counter<'entity' | 'class' | 'action'>;
  readonly reconciliationCompleteness: Gauge<'entity' | 'period'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'finsync_process_' });
  const registers = [registry];
  return {
    registry,
    eventsReceived: new Counter({ name: 'finsync_events_received_total', help: 'Events received by type and outcome (accepted, duplicate).', labelNames: ['type', 'outcome'], registers }),
    postings: new Counter({ name: 'finsync_postings_total', help: 'Postings that reached an end state, by target, kind and outcome.', labelNames: ['target', 'kind', 'outcome'], registers }),
    quarantines: new Counter({ name: 'finsync_quarantines_total', help: 'Report revisions quarantined, by reason code.', labelNames: ['code'], registers }),
    duplicatesPrevented: new Counter({ name: 'finsync_duplicates_prevented_total', help: 'Duplicates prevented: repeated source events, repeated revisions, postings settled by look-up.', labelNames: ['where'], registers }),
    approvalToPostedSeconds: new Histogram({
      name: 'finsync_approval_to_posted_seconds',
      help: 'Lag from approval in the expense platform to the journal posted in the ERP.',
      labelNames: ['target'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    }),
    postingAttempts: new Counter({ name: 'finsync_posting_attempts_total', help: 'Calls to a target ERP by result.', labelNames: ['target', 'result'], registers }),
    laneInFlight: new Gauge({ name: 'finsync_lane_in_flight', help: 'Postings in flight per target lane.', labelNames: ['target'], registers }),
    circuitOpen: new Gauge({ name: 'finsync_lane_circuit_open', help: '1 when the lane circuit breaker is open.', labelNames: ['target'], registers }),
    lanePaused: new Gauge({ name: 'finsync_lane_paused', help: '1 while the target is in a maintenance window: its lane claims nothing.', labelNames: ['target'], registers }),
    masterDataSyncs: new Counter({ name: 'finsync_masterdata_syncs_total', help: 'Master-data source runs by source and status (ok, unchanged, failed).', labelNames: ['source', 'status'], registers }),
    masterDataRecordsChanged: new Counter({ name: 'finsync_masterdata_records_changed_total', help: 'Master-data records whose versions changed, by source.', labelNames: ['source'], registers }),
    revisionsResumed: new Counter({ name: 'finsync_revisions_resumed_total', help: 'Report revisions that waited for master data and resumed when it arrived.', registers }),
    mappingDefects: new Counter({
      name: 'finsync_mapping_defects_total',
      help: 'Report revisions quarantined for a reason the mapping is to blame for (no rule, failed expression, blocked account), by entity, rule-set versions in force and code.',
      labelNames: ['entity', 'version', 'code'],
      registers,
    }),
    revisionsReplayed: new Counter({ name: 'finsync_revisions_replayed_total', help: 'Quarantined report revisions run again after a mapping fix, by entity.', labelNames: ['entity'], registers }),
    recoverySeconds: new Histogram({
      name: 'finsync_recovery_seconds',
      help: 'Recovery time of replayed items: from the first quarantine of a report revision to its posting after a replay, by entity.',
      labelNames: ['entity'],
      buckets: [1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86_400, 3 * 86_400, 7 * 86_400, 30 * 86_400],
      registers,
    }),
    reimbursements: new Counter({ name: 'finsync_reimbursements_total', help: 'Reimbursement milestones recorded (scheduled, paid, failed, returned).', labelNames: ['milestone'], registers }),
    reconciliationBreaks: new Counter({
      name: 'finsync_reconciliation_breaks_total',
      help: 'Breaks found by reconciliation runs, by entity, class and what finsync did (replayed, reingested, recall_applied, lookup_requeued, exception).',
      labelNames: ['entity', 'class', 'action'],
      registers,
    }),
    reconciliationCompleteness: new Gauge({ name: 'finsync_reconciliation_completeness_ratio', help: 'The last run’s completeness per entity and period: approved keys without a break ÷ approved keys.', labelNames: ['entity', 'period'], registers }),
  };
}
