/**
 * Routing: which target connection holds a report's journal. A rule maps a legal entity (and,
 * optionally, a ledger and a process type) to a target, with effective posting dates for cutovers
 * (the legacy ERP up to the day before the cutover, the new one from it) and an optional shadow
 * target for migration waves: the journal is also posted there and the two outcomes compared, the
 * shadow never deciding the revision's state.
 *
 * The routing table is versioned (`routing_versions`, migration 007): a change is a new version
 * with author and reason, recorded in the event log (`routing.changed`); the latest is in force. An
 * entity no rule covers on a date posts to the target of its definition (LegalEntity.target), so a
 * hub without a routing table behaves as before.
 *
 * Checks on every change (ROUTING_INVALID, naming the rule): known entity and target, valid dates
 * with from ≤ to, and no two rules of one entity, ledger and process type whose dates overlap.
 */
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { AppError } from '../errors.ts';
import type { LegalEntity } from '../masterdata/company.ts';
import type { Db, Tx } from '../store/db.ts';
import { appendLog } from '../store/event-log.ts';

const Date10 = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD' });
const Name = Type.String({ minLength: 1, maxLength: 40, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' });

export const RoutingRuleSchema = Type.Object(
  {
    entity: Name,
    ledger: Type.Optional(Name),
    processType: Type.Optional(Name),
    target: Name,
    companyId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "the entity's id in the target (NetSuite subsidiary, S/4HANA company code, Xero tenant…); default the entity's erpSubsidiaryId" })),
    from: Type.Optional(Date10),
    to: Type.Optional(Date10),
    shadow: Type.Optional(Type.Object({ target: Name, companyId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);
export const RoutingRulesSchema = Type.Array(RoutingRuleSchema, { maxItems: 10_000 });
export type RoutingRule = Static<typeof RoutingRuleSchema>;
const checkRules = Compile(RoutingRulesSchema);

/** Where one report goes. */
export interface Route {
  readonly target: string;
  readonly companyId: string;
  readonly shadow?: { readonly target: string; readonly companyId: string };
  /** The routing version that decided it (0: the entities' own targets, no routing table). */
  readonly version: number;
}

export interface RouteQuery {
  readonly entity: string;
  /** YYYY-MM-DD: the report's posting date. */
  readonly date: string;
  readonly ledger?: string;
  readonly processType?: string;
}

export interface RoutingVersion {
  readonly version: number;
  readonly rules: readonly RoutingRule[];
  readonly author: string;
  readonly reason: string;
  readonly createdAt: string;
}

function specificity(rule: RoutingRule): number {
  return (rule.ledger === undefined ? 0 : 2) + (rule.processType === undefined ? 0 : 1);
}

/** The rule of a query, or undefined (the entity's own target then applies). */
export function matchRule(rules: readonly RoutingRule[], q: RouteQuery): RoutingRule | undefined {
  const candidates = rules.filter(
    (r) =>
      r.entity === q.entity &&
      (r.ledger === undefined || r.ledger === q.ledger) &&
      (r.processType === undefined || r.processType === q.processType) &&
      (r.from === undefined || r.from <= q.date) &&
      (r.to === undefined || q.date <= r.to),
  );
  return candidates.sort((a, b) => specificity(b) - specificity(a))[0];
}

export function resolveRoute(rules: readonly RoutingRule[], version: number, entity: LegalEntity, q: RouteQuery): Route {
  const rule = matchRule(rules, q);
  if (!rule) return { target: entity.target, companyId: entity.erpSubsidiaryId, version: 0 };
  return {
    target: rule.target,
    companyId: rule.companyId ?? entity.erpSubsidiaryId,
    ...(rule.shadow && { shadow: { target: rule.shadow.target, companyId: rule.shadow.companyId ?? entity.erpSubsidiaryId } }),
    version,
  };
}

/** Every problem of a rule table, one message each naming the rule by its index. */
export function checkRoutingRules(input: unknown, entities: readonly string[], targets: readonly string[]): string[] {
  if (!checkRules.Check(input)) return [...checkRules.Errors(input)].slice(0, 20).map((e) => `rules${e.instancePath.replace(/\//g, '.')}: ${e.message}`);
  const rules = input as RoutingRule[];
  const problems: string[] = [];
  rules.forEach((rule, i) => {
    const at = `rules[${i}]`;
    if (!entities.includes(rule.entity)) problems.push(`${at}.entity: ${rule.entity} is not a configured entity (${entities.join(', ')})`);
    for (const [field, target] of [['target', rule.target], ['shadow.target', rule.shadow?.target]] as const) {
      if (target !== undefined && !targets.includes(target)) problems.push(`${at}.${field}: ${target} is not a configured target (${targets.join(', ')})`);
    }
    if (rule.shadow?.target === rule.target) problems.push(`${at}.shadow.target: the shadow target must differ from the target`);
    for (const field of ['from', 'to'] as const) {
      const value = rule[field];
      if (value !== undefined && new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) !== value) problems.push(`${at}.${field}: ${value} is not a date`);
    }
    if (rule.from !== undefined && rule.to !== undefined && rule.from > rule.to) problems.push(`${at}: from ${rule.from} is after to ${rule.to}`);
    rules.slice(0, i).forEach((other, j) => {
      const sameScope = other.entity === rule.entity && other.ledger === rule.ledger && other.processType === rule.processType;
      const overlap = (rule.from ?? '') <= (other.to ?? '9999-12-31') && (other.from ?? '') <= (rule.to ?? '9999-12-31');
      if (sameScope && overlap) problems.push(`${at} overlaps rules[${j}] for ${rule.entity}${rule.ledger ? ` ledger ${rule.ledger}` : ''}${rule.processType ? ` process ${rule.processType}` : ''}: give them dates that do not meet`);
    });
  });
  return problems;
}

export async function readLatestRouting(db: Db | Tx): Promise<RoutingVersion | undefined> {
  const row = await db.selectFrom('routing_versions').selectAll().orderBy('version', 'desc').limit(1).executeTakeFirst();
  return row && toVersion(row);
}

export async function listRoutingVersions(db: Db, limit = 50): Promise<RoutingVersion[]> {
  return (await db.selectFrom('routing_versions').selectAll().orderBy('version', 'desc').limit(limit).execute()).map(toVersion);
}

function toVersion(row: { version: number; rules: string; author: string; reason: string; created_at: number }): RoutingVersion {
  return { version: Number(row.version), rules: JSON.parse(row.rules) as RoutingRule[], author: row.author, reason: row.reason, createdAt: new Date(Number(row.created_at)).toISOString() };
}

/** Stores a new routing version (checked), logged as `routing.changed`. */
export async function setRouting(db: Db, input: { rules: unknown; author: string; reason: string }, known: { entities: readonly string[]; targets: readonly string[] }, now: number): Promise<RoutingVersion> {
  const problems = checkRoutingRules(input.rules, known.entities, known.targets);
  if (problems.length > 0) throw new AppError('ROUTING_INVALID', { count: problems.length, first: problems[0] }, { problems });
  const reason = input.reason.trim();
  if (reason.length === 0 || reason.length > 500) throw new AppError('REQUEST_INVALID', { detail: 'reason must be 1 to 500 characters' });
  const rules = input.rules as RoutingRule[];
  return db.transaction().execute(async (tx) => {
    const latest = await tx.selectFrom('routing_versions').select((eb) => eb.fn.max('version').as('v')).executeTakeFirst();
    const version = Number(latest?.v ?? 0) + 1;
    // Two changes at once: the primary key lets one win; the other is told to retry.
    const inserted = await tx.insertInto('routing_versions').values({ version, rules: JSON.stringify(rules), author: input.author, reason, created_at: now }).onConflict((oc) => oc.column('version').doNothing()).returning('version').executeTakeFirst();
    if (!inserted) throw new AppError('ROUTING_CONFLICT', { version });
    await appendLog(tx, now, [{ correlationId: `routing-${version}`, kind: 'routing.changed', payload: { version, rules, author: input.author, reason } }]);
    return { version, rules, author: input.author, reason, createdAt: new Date(now).toISOString() };
  });
}

/**
 * The routing in force, cached per process: `refresh` reads the latest version number (one indexed
 * read) and reloads only when it changed, so a change in any process is in force in the next step.
 */
export interface RoutingService {
  refresh(db: Db | Tx): Promise<void>;
  route(entity: LegalEntity, q: RouteQuery): Route;
  /** Every primary target an entity routes to in a date range (shadows are compared apart): reconciliation reads each. */
  targetsOf(entity: LegalEntity, from: string, to: string): string[];
  readonly version: number;
}

export function createRoutingService(): RoutingService {
  let version = 0;
  let rules: readonly RoutingRule[] = [];
  return {
    async refresh(db) {
      const row = await db.selectFrom('routing_versions').select((eb) => eb.fn.max('version').as('v')).executeTakeFirst();
      const latest = Number(row?.v ?? 0);
      if (latest === version) return;
      const loaded = await readLatestRouting(db);
      version = loaded?.version ?? 0;
      rules = loaded?.rules ?? [];
    },
    route: (entity, q) => resolveRoute(rules, version, entity, q),
    targetsOf(entity, from, to) {
      const targets = new Set<string>();
      const mine = rules.filter((r) => r.entity === entity.code && (r.from ?? '') <= to && from <= (r.to ?? '9999-12-31'));
      for (const r of mine) targets.add(r.target);
      // Days of the range no rule covers post to the entity's own target.
      const covered = mine.filter((r) => r.ledger === undefined && r.processType === undefined).sort((a, b) => (a.from ?? '').localeCompare(b.from ?? ''));
      let next = from;
      for (const r of covered) {
        if ((r.from ?? '') > next) break;
        if ((r.to ?? '9999-12-31') >= next) next = r.to === undefined ? '9999-12-31' : addDay(r.to);
      }
      if (next <= to) targets.add(entity.target);
      return [...targets].sort();
    },
    get version() {
      return version;
    },
  };
}

function addDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}
