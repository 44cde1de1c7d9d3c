/**
 * The four-eyes workflow of rule sets (docs/mapping.md): propose → review (a recorded dry run) →
 * approve by a second controller of the scope → in force from its effective date; reject with a
 * reason; roll back by activating an earlier approved version. Every step is checked against the
 * actor's roles, runs in one transaction with its event-log entry, and leaves the version's content
 * untouched. A proposal is refused, with every problem's file, line and column, unless it parses,
 * names only accounts and dimensions that exist and are postable, and has no overlaps and no gaps.
 */
import type { JournalEntry } from '../domain/journal.ts';
import { postingDateOf, type ExpenseReport } from '../domain/report.ts';
import { AppError, type ErrorCode } from '../errors.ts';
import type { ReferenceData } from '../masterdata/md-index.ts';
import { isCalendarDate, OPEN_FROM } from '../masterdata/records.ts';
import type { Clock } from '../pipeline/clock.ts';
import { isController, type Principal } from '../store/api-keys.ts';
import type { Store, Tx } from '../store/db.ts';
import { appendLog } from '../store/event-log.ts';
import { checkReferences } from './check-references.ts';
import { checkCoverage, type CoverageDomains } from './coverage.ts';
import { dryRun, type DryRunResult } from './dry-run.ts';
import type { MappingService } from './mapping-service.ts';
import { countDefects, insertActivation, insertVersion, listVersions, lockMapping, nextVersion, readVersion, setVersionState, type VersionRow } from './mapping-store.ts';
import { replayMappingQuarantines, type Replayed } from './replay.ts';
import { diffRuleSets, renderDiff, type RuleSetDiff } from './rule-diff.ts';
import { parseRuleFile } from './rule-file.ts';
import { GROUP_SCOPE, MAPPING_DEFECT_CODES, versionRef, type CompiledRuleSet, type ResolvedRules, type RuleProblem, type RuleSetDocument } from './rule-set.ts';

/** Reports per entity a review re-codes unless told otherwise, and the most it may ask for. */
export const DRY_RUN_REPORTS_DEFAULT = 50;
export const DRY_RUN_REPORTS_MAX = 1000;

export interface Proposal {
  readonly scope: string;
  readonly fileName: string;
  readonly format: 'yaml' | 'csv';
  readonly text: string;
  /** YYYY-MM-DD: the first posting date the version codes. */
  readonly effectiveFrom: string;
  readonly reason: string;
}

export interface VersionSummary {
  readonly scope: string;
  readonly version: number;
  readonly ref: string;
  readonly state: VersionRow['state'];
  readonly effectiveFrom: string;
  readonly author: string;
  readonly reason: string;
  readonly proposedAt: string;
  readonly reviewedBy: string | null;
  readonly decidedBy: string | null;
  readonly decisionReason: string | null;
  /** In force today for the scope. */
  readonly activeToday: boolean;
  /** Revisions quarantined for a mapping reason while this version was in force. */
  readonly defects: number;
}

export interface VersionDetail extends VersionSummary {
  readonly fileName: string;
  readonly format: 'yaml' | 'csv';
  readonly source: string;
  readonly document: RuleSetDocument;
  readonly dryRun: DryRunResult | null;
}

export interface ReplayResult {
  readonly entity: string;
  readonly replayed: readonly Replayed[];
}

export interface Governance {
  propose(proposal: Proposal, actor: Principal): Promise<VersionSummary>;
  review(scope: string, version: number, options: { reports?: number }, actor: Principal): Promise<DryRunResult>;
  /** A dry run that records nothing: for the proposer, before asking for review. */
  dryRun(scope: string, version: number, options: { reports?: number }, actor: Principal): Promise<DryRunResult>;
  approve(scope: string, version: number, reason: string, actor: Principal): Promise<VersionSummary>;
  reject(scope: string, version: number, reason: string, actor: Principal): Promise<VersionSummary>;
  /** Roll back (or forward): put an approved version in force again from a date. */
  activate(scope: string, version: number, effectiveFrom: string, reason: string, actor: Principal): Promise<VersionSummary>;
  list(scope?: string): Promise<VersionSummary[]>;
  get(scope: string, version: number): Promise<VersionDetail>;
  diff(a: { scope: string; version: number }, b: { scope: string; version: number }): Promise<{ diff: RuleSetDiff; text: string }>;
  /** Runs again every revision of the entity quarantined for a mapping reason, with the rules now in force. */
  replay(entity: string, reason: string, actor: Principal, codes?: readonly string[]): Promise<ReplayResult>;
  /** Installs rule sets as approved version 1 of their scopes when no version exists yet (a new installation, the demo). */
  bootstrap(files: readonly { scope: string; file: string; format: 'yaml' | 'csv'; text: string }[], actor: string): Promise<string[]>;
}

export interface GovernanceDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly reference: ReferenceData;
  readonly mapping: MappingService;
  /** The configured legal entities. */
  readonly entities: () => readonly string[];
  /** Master-data findings a coded journal's accounts would get, as the pipeline's validation. */
  readonly accountProblem: (report: ExpenseReport, journal: JournalEntry) => { code: ErrorCode; params: Record<string, string | number> } | undefined;
  /** Told how many revisions a replay queued, so the broker can pick them up at once. */
  readonly onReplayed?: (entity: string, count: number) => void;
}

export function createGovernance(deps: GovernanceDeps): Governance {
  const { store, clock, mapping } = deps;
  const registry = mapping.registry;
  const today = () => new Date(clock.now()).toISOString().slice(0, 10);

  const checkScope = (scope: string) => {
    if (scope !== GROUP_SCOPE && !deps.entities().includes(scope)) {
      throw new AppError('MAPPING_SCOPE_UNKNOWN', { scope, configured: [...deps.entities(), GROUP_SCOPE].join(', ') });
    }
  };

  const requireController = (actor: Principal, scope: string, action: string) => {
    if (!isController(actor, scope)) throw new AppError('MAPPING_ROLE_REQUIRED', { actor: actor.name, role: `controller:${scope}`, action });
  };

  const requireVersion = async (db: Store['db'] | Tx, scope: string, version: number): Promise<VersionRow> => {
    checkScope(scope);
    const row = await readVersion(db, scope, version);
    if (!row) throw new AppError('MAPPING_VERSION_NOT_FOUND', { scope, version });
    return row;
  };

  const stateConflict = (row: VersionRow, action: string, needed: string) =>
    new AppError('MAPPING_STATE_CONFLICT', { scope: row.scope, version: row.version, state: row.state, action, needed });

  const domainsOf = (entity: string, date: string): CoverageDomains => ({
    category: deps.reference.keys('category', entity, date),
    costCenter: deps.reference.keys('cost_center', entity, date),
    project: deps.reference.keys('project', entity, date),
    taxCode: deps.reference.keys('tax_code', entity, date),
  });

  /**
   * Every problem of a compiled set in its scope on a date, against the other layer in force then
   * (or the one in `others`, for sets installed together).
   */
  const checkSet = (scope: string, set: CompiledRuleSet, date: string, others: ReadonlyMap<string, CompiledRuleSet> = new Map(), bootstrapping = false): RuleProblem[] => {
    // A new installation may install its first rule sets before any master data has arrived; then
    // the accounts cannot be checked yet (they are when the first change is proposed, and a posting
    // to an unknown account is refused by validation).
    const referencesOf = (entity: string, group?: CompiledRuleSet) =>
      bootstrapping && deps.reference.keys('gl_account', entity, date).length === 0 ? [] : checkReferences({ set, entity, reference: deps.reference, date, ...(group && { group }) });
    if (scope !== GROUP_SCOPE) {
      const group = others.get(GROUP_SCOPE) ?? registry.resolve(scope, date).group?.set;
      return [
        ...referencesOf(scope, group),
        ...checkCoverage({ entity: scope, own: set, ...(group && { group }), domains: domainsOf(scope, date), report: 'own' }),
      ];
    }
    const problems = new Map<string, RuleProblem>();
    for (const entity of deps.entities()) {
      const own = others.get(entity) ?? registry.resolve(entity, date).own?.set;
      const found = [
        ...referencesOf(entity),
        ...checkCoverage({ entity, ...(own && { own }), group: set, domains: domainsOf(entity, date), report: 'group' }),
      ];
      // One group row wrong for every entity is one problem, not one per entity.
      for (const p of found) problems.set(`${p.line}:${p.column}:${p.code}:${p.message}`, p);
    }
    return [...problems.values()];
  };

  /**
   * The checks of a set that would be in force from `from` on: on that date, and again on every
   * later date on which the other layer changes (an entity's set approved for 2027 meets a group
   * set approved now). Problems found on several dates are listed once.
   */
  const checkFrom = (scope: string, set: CompiledRuleSet, from: string): RuleProblem[] => {
    const others = scope === GROUP_SCOPE ? deps.entities() : [GROUP_SCOPE];
    const dates = new Set([from]);
    for (const other of others) for (const a of registry.activationsOf(other)) if (a.effective_from > from) dates.add(a.effective_from);
    const problems = new Map<string, RuleProblem>();
    for (const date of [...dates].sort()) for (const p of checkSet(scope, set, date)) problems.set(`${p.line}:${p.column}:${p.code}:${p.message}`, p);
    return [...problems.values()];
  };

  /** The compiled set of a stored version, from the registry's cache. */
  const compiledOf = async (db: Store['db'] | Tx, row: VersionRow): Promise<CompiledRuleSet> => (await registry.load(db, row.scope, row.version)).set;

  const refuse = (file: string, problems: readonly RuleProblem[]): never => {
    const sorted = [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
    const first = sorted[0];
    throw new AppError('MAPPING_RULES_INVALID', { file, count: sorted.length, first: `${first.file}:${first.line}:${first.column} ${first.message}` }, { problems: sorted });
  };

  const summaries = async (rows: readonly VersionRow[]): Promise<VersionSummary[]> => {
    const defects = await countDefects(store.db);
    const date = today();
    return rows.map((row) => summarize(row, registry.activeVersion(row.scope, date) === row.version, defects.get(versionRef(row.scope, row.version)) ?? 0));
  };

  const runDryRun = async (row: VersionRow, reports: number | undefined): Promise<DryRunResult> => {
    const n = reports ?? DRY_RUN_REPORTS_DEFAULT;
    if (!Number.isInteger(n) || n < 1 || n > DRY_RUN_REPORTS_MAX) {
      throw new AppError('REQUEST_INVALID', { detail: `reports must be an integer from 1 to ${DRY_RUN_REPORTS_MAX}, got ${String(reports)}` });
    }
    await registry.refresh(store.db);
    const proposed = await registry.load(store.db, row.scope, row.version);
    const rulesFor = (report: ExpenseReport): ResolvedRules => {
      const inForce = registry.resolve(report.entity, postingDateOf(report));
      const rules = row.scope === GROUP_SCOPE ? { ...inForce, group: proposed } : { ...inForce, own: proposed };
      return rules;
    };
    const entities = row.scope === GROUP_SCOPE ? deps.entities() : [row.scope];
    return dryRun({ db: store.db, rulesFor, mapWith: mapping.mapWith, accountProblem: deps.accountProblem }, row.scope, row.version, entities, n);
  };

  const log = (tx: Tx, scope: string, version: number, kind: string, payload: Record<string, unknown>) =>
    appendLog(tx, clock.now(), [{ correlationId: `mapping:${versionRef(scope, version)}`, kind, payload: { scope, version, ...payload } }]);

  const requireReason = (reason: string, what: string) => {
    if (reason.trim().length === 0 || reason.length > 500) throw new AppError('REQUEST_INVALID', { detail: `${what} needs a reason of 1 to 500 characters` });
  };

  const requireDate = (date: string, what: string) => {
    if (!isCalendarDate(date)) throw new AppError('REQUEST_INVALID', { detail: `${what} must be a calendar date YYYY-MM-DD, got ${date}` });
  };

  const governance: Governance = {
    async propose(proposal, actor) {
      checkScope(proposal.scope);
      requireController(actor, proposal.scope, 'proposing a rule set');
      requireDate(proposal.effectiveFrom, 'effectiveFrom');
      requireReason(proposal.reason, 'a proposal');
      const parsed = parseRuleFile({ text: proposal.text, file: proposal.fileName, format: proposal.format, scope: proposal.scope });
      if (!parsed.ok) return refuse(proposal.fileName, parsed.problems);
      await registry.refresh(store.db);
      const problems = checkFrom(proposal.scope, parsed.ruleSet, proposal.effectiveFrom);
      if (problems.length > 0) return refuse(proposal.fileName, problems);
      const row = await store.db.transaction().execute(async (tx) => {
        await lockMapping(tx, store);
        const version = await nextVersion(tx, proposal.scope);
        const inserted: VersionRow = {
          scope: proposal.scope,
          version,
          state: 'proposed',
          format: proposal.format,
          file_name: proposal.fileName,
          source: proposal.text,
          document: JSON.stringify(parsed.ruleSet.document),
          effective_from: proposal.effectiveFrom,
          author: actor.name,
          reason: proposal.reason,
          proposed_at: clock.now(),
          reviewed_by: null,
          reviewed_at: null,
          dry_run: null,
          decided_by: null,
          decided_at: null,
          decision_reason: null,
        };
        await insertVersion(tx, inserted);
        await log(tx, proposal.scope, version, 'mapping.proposed', { by: actor.name, reason: proposal.reason, effectiveFrom: proposal.effectiveFrom, file: proposal.fileName, rules: parsed.ruleSet.rules.length });
        return inserted;
      });
      return (await summaries([row]))[0];
    },

    async dryRun(scope, version, options, actor) {
      const row = await requireVersion(store.db, scope, version);
      requireController(actor, scope, 'a dry run');
      return runDryRun(row, options.reports);
    },

    async review(scope, version, options, actor) {
      const row = await requireVersion(store.db, scope, version);
      requireController(actor, scope, 'reviewing a rule set');
      if (row.state !== 'proposed' && row.state !== 'reviewed') throw stateConflict(row, 'a review', 'proposed or reviewed');
      const result = await runDryRun(row, options.reports);
      await store.db.transaction().execute(async (tx) => {
        await lockMapping(tx, store);
        const updated = await setVersionState(tx, scope, version, ['proposed', 'reviewed'], { state: 'reviewed', reviewed_by: actor.name, reviewed_at: clock.now(), dry_run: JSON.stringify(result) });
        if (!updated) throw stateConflict((await readVersion(tx, scope, version))!, 'a review', 'proposed or reviewed');
        await log(tx, scope, version, 'mapping.reviewed', { by: actor.name, reports: result.reports, changed: result.changed.length, failed: result.failed.length });
      });
      return result;
    },

    async approve(scope, version, reason, actor) {
      const row = await requireVersion(store.db, scope, version);
      requireController(actor, scope, 'approving a rule set');
      if (samePerson(row.author, actor.name)) throw new AppError('MAPPING_FOUR_EYES', { actor: actor.name, scope, version });
      if (row.state !== 'reviewed') throw stateConflict(row, 'approval', 'reviewed (run `finsync mapping review` first: it records the dry run)');
      const approved = await store.db.transaction().execute(async (tx) => {
        // Checked under the lock, against the versions in force now: two approvals at once (an
        // entity's and the group's) cannot each pass against the other's old version.
        await lockMapping(tx, store);
        await registry.refresh(tx);
        const current = (await readVersion(tx, scope, version))!;
        if (current.state !== 'reviewed') throw stateConflict(current, 'approval', 'reviewed');
        // A review compared the proposal with what was in force then; if the scope changed since, the
        // dry run is stale (and approving would silently undo the newer version).
        const changed = registry.activationsOf(scope).find((a) => a.activated_at > (current.reviewed_at ?? 0));
        if (changed) throw stateConflict(current, 'approval', `reviewed again: ${versionRef(scope, changed.version)} was put in force after the review`);
        // Master data may have changed since the proposal: the checks run again on the current data.
        const problems = checkFrom(scope, await compiledOf(tx, current), current.effective_from);
        if (problems.length > 0) return refuse(current.file_name, problems);
        await setVersionState(tx, scope, version, ['reviewed'], { state: 'approved', decided_by: actor.name, decided_at: clock.now(), decision_reason: reason || null });
        await insertActivation(tx, { scope, version, effective_from: row.effective_from, kind: 'approval', actor: actor.name, reason: reason || row.reason, activated_at: clock.now() });
        await log(tx, scope, version, 'mapping.approved', { by: actor.name, proposedBy: row.author, effectiveFrom: row.effective_from, ...(reason && { reason }) });
        return (await readVersion(tx, scope, version))!;
      });
      await registry.refresh(store.db);
      return (await summaries([approved]))[0];
    },

    async reject(scope, version, reason, actor) {
      const row = await requireVersion(store.db, scope, version);
      requireController(actor, scope, 'rejecting a rule set');
      requireReason(reason, 'a rejection');
      if (row.state !== 'proposed' && row.state !== 'reviewed') throw stateConflict(row, 'rejection', 'proposed or reviewed');
      const rejected = await store.db.transaction().execute(async (tx) => {
        await lockMapping(tx, store);
        const updated = await setVersionState(tx, scope, version, ['proposed', 'reviewed'], { state: 'rejected', decided_by: actor.name, decided_at: clock.now(), decision_reason: reason });
        if (!updated) throw stateConflict((await readVersion(tx, scope, version))!, 'rejection', 'proposed or reviewed');
        await log(tx, scope, version, 'mapping.rejected', { by: actor.name, reason });
        return (await readVersion(tx, scope, version))!;
      });
      return (await summaries([rejected]))[0];
    },

    async activate(scope, version, effectiveFrom, reason, actor) {
      const row = await requireVersion(store.db, scope, version);
      requireController(actor, scope, 'activating a rule set');
      requireDate(effectiveFrom, 'effectiveFrom');
      requireReason(reason, 'an activation');
      if (row.state !== 'approved') throw stateConflict(row, 'activation', 'approved (only an approved version can be put in force again)');
      // One controller may only put back what two approved: the version's own content, from its
      // approved date on or later, never a version brought forward before its date.
      if (effectiveFrom < row.effective_from) {
        throw new AppError('REQUEST_INVALID', { detail: `${versionRef(scope, version)} was approved from ${row.effective_from}; it cannot be put in force from the earlier ${effectiveFrom}` });
      }
      await store.db.transaction().execute(async (tx) => {
        await lockMapping(tx, store);
        await registry.refresh(tx);
        const problems = checkFrom(scope, await compiledOf(tx, row), effectiveFrom);
        if (problems.length > 0) return refuse(row.file_name, problems);
        const replaces = registry.activeVersion(scope, effectiveFrom) ?? null;
        await insertActivation(tx, { scope, version, effective_from: effectiveFrom, kind: 'rollback', actor: actor.name, reason, activated_at: clock.now() });
        await log(tx, scope, version, 'mapping.activated', { by: actor.name, effectiveFrom, reason, replaces });
      });
      await registry.refresh(store.db);
      return (await summaries([row]))[0];
    },

    async list(scope) {
      if (scope !== undefined) checkScope(scope);
      await registry.refresh(store.db);
      return summaries(await listVersions(store.db, scope));
    },

    async get(scope, version) {
      const row = await requireVersion(store.db, scope, version);
      await registry.refresh(store.db);
      const [summary] = await summaries([row]);
      return {
        ...summary,
        fileName: row.file_name,
        format: row.format,
        source: row.source,
        document: JSON.parse(row.document) as RuleSetDocument,
        dryRun: row.dry_run === null ? null : (JSON.parse(row.dry_run) as DryRunResult),
      };
    },

    async diff(a, b) {
      const [from, to] = [await requireVersion(store.db, a.scope, a.version), await requireVersion(store.db, b.scope, b.version)];
      const diff = diffRuleSets(JSON.parse(from.document) as RuleSetDocument, JSON.parse(to.document) as RuleSetDocument);
      return { diff, text: renderDiff(diff, versionRef(a.scope, a.version), versionRef(b.scope, b.version)) };
    },

    async replay(entity, reason, actor, codes = MAPPING_DEFECT_CODES) {
      if (!deps.entities().includes(entity)) throw new AppError('MAPPING_SCOPE_UNKNOWN', { scope: entity, configured: deps.entities().join(', ') });
      if (!isController(actor, entity) && !actor.roles.includes('operator') && !actor.roles.includes('admin')) {
        throw new AppError('MAPPING_ROLE_REQUIRED', { actor: actor.name, role: `controller:${entity}`, action: 'replaying (operator or admin also may)' });
      }
      requireReason(reason, 'a replay');
      const foreign = codes.filter((c) => !MAPPING_DEFECT_CODES.includes(c as ErrorCode));
      if (foreign.length > 0 || codes.length === 0) {
        throw new AppError('REQUEST_INVALID', { detail: `a mapping replay takes only mapping codes (${MAPPING_DEFECT_CODES.join(', ')}); not ${foreign.join(', ') || 'an empty list'}` });
      }
      const replayed = await replayMappingQuarantines(store, clock.now(), entity, { by: actor.name, reason }, codes);
      if (replayed.length === 0) throw new AppError('MAPPING_REPLAY_EMPTY', { entity, filter: codes === MAPPING_DEFECT_CODES ? '' : ` (codes ${codes.join(', ')})` });
      deps.onReplayed?.(entity, replayed.length);
      return { entity, replayed };
    },

    async bootstrap(files, actor) {
      // Only a new installation skips four eyes: once any version exists, every change is proposed.
      if ((await listVersions(store.db)).length > 0) return [];
      await registry.refresh(store.db);
      const parsed = new Map<string, { file: (typeof files)[number]; set: CompiledRuleSet }>();
      for (const file of files) {
        checkScope(file.scope);
        const result = parseRuleFile({ text: file.text, file: file.file, format: file.format, scope: file.scope });
        if (!result.ok) return refuse(file.file, result.problems);
        parsed.set(file.scope, { file, set: result.ruleSet });
      }
      // Checked together before anything is stored: the entities' sets and the group's complete each other.
      const sets = new Map([...parsed].map(([scope, p]) => [scope, p.set]));
      for (const [scope, { set }] of parsed) {
        const problems = checkSet(scope, set, today(), sets, true);
        if (problems.length > 0) return refuse(set.file, problems);
      }
      await store.db.transaction().execute(async (tx) => {
        await lockMapping(tx, store);
        // Another process starting at the same time may have installed them meanwhile.
        if ((await listVersions(tx)).length > 0) {
          parsed.clear();
          return;
        }
        for (const [scope, { file, set }] of parsed) {
          const version = await nextVersion(tx, scope);
          const now = clock.now();
          await insertVersion(tx, {
            scope,
            version,
            state: 'approved',
            format: file.format,
            file_name: file.file,
            source: file.text,
            document: JSON.stringify(set.document),
            effective_from: OPEN_FROM,
            author: actor,
            reason: 'initial rule set of a new installation',
            proposed_at: now,
            reviewed_by: null,
            reviewed_at: null,
            dry_run: null,
            decided_by: actor,
            decided_at: now,
            decision_reason: 'bootstrap: no earlier version to review against',
          });
          await insertActivation(tx, { scope, version, effective_from: OPEN_FROM, kind: 'bootstrap', actor, reason: 'initial rule set', activated_at: now });
          await log(tx, scope, version, 'mapping.bootstrapped', { by: actor, file: file.file, rules: set.rules.length });
        }
      });
      await registry.refresh(store.db);
      return [...parsed.keys()];
    },
  };
  return governance;
}

/** Key names are people; the four-eyes rule compares them without regard to case or spacing. */
function samePerson(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

function summarize(row: VersionRow, activeToday: boolean, defects: number): VersionSummary {
  return {
    scope: row.scope,
    version: row.version,
    ref: versionRef(row.scope, row.version),
    state: row.state,
    effectiveFrom: row.effective_from,
    author: row.author,
    reason: row.reason,
    proposedAt: new Date(row.proposed_at).toISOString(),
    reviewedBy: row.reviewed_by,
    decidedBy: row.decided_by,
    decisionReason: row.decision_reason,
    activeToday,
    defects,
  };
}
