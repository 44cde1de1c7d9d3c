/**
 * The one registry of operating-error codes. Each code appears once, with its HTTP status, whether
 * a retry can help, and a message template. `docs/errors.md` is checked against this registry by a
 * test, both ways. Programmer errors are assertions (see `assert` below) and are not listed here.
 */

export interface ErrorSpec {
  readonly status: number;
  readonly retryable: boolean;
  /** Template with {placeholders} filled from the error's params. Says what to do next. */
  readonly message: string;
}

export const ERRORS = {
  // --- API / gateway ---
  AUTH_MISSING: { status: 401, retryable: false, message: 'No API key was sent. Send it as "Authorization: Bearer <key>" or "X-API-Key: <key>"; create one with `finsync apikey create --name NAME`.' },
  AUTH_INVALID: { status: 401, retryable: false, message: 'The API key is not known or has been revoked. Check the key, or create a new one with `finsync apikey create --name NAME`.' },
  BODY_INVALID_JSON: { status: 400, retryable: false, message: 'The request body is not valid JSON: {detail}. Send one CloudEvent object or an array of them.' },
  BODY_TOO_LARGE: { status: 413, retryable: false, message: 'The request body is larger than {limitBytes} bytes. Split the batch into smaller requests.' },
  BODY_UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, message: 'Content type {contentType} is not accepted. Send application/cloudevents+json, application/cloudevents-batch+json or application/json.' },
  REQUEST_INVALID: { status: 400, retryable: false, message: 'The request does not match the schema: {detail}. Fix the field named and send it again.' },
  EVENT_INVALID: { status: 400, retryable: false, message: 'Event {eventId}: {detail}. Fix the event and send it again; nothing from this request was stored.' },
  EVENT_TYPE_UNKNOWN: { status: 400, retryable: false, message: 'Event {eventId} has type {type}, which finsync does not accept. Use one of: {accepted}.' },
  EVENT_ID_CONFLICT: { status: 409, retryable: false, message: 'Event {eventId} from source {source} was already received with a different body. Event ids must be unique per source: give a changed event a new id.' },
  BATCH_EMPTY: { status: 400, retryable: false, message: 'The batch holds no events. Send at least one CloudEvent.' },
  BATCH_TOO_LARGE: { status: 400, retryable: false, message: 'The batch holds {count} events; at most {max} are accepted per request. Split it.' },
  BATCH_DUPLICATE_ID: { status: 400, retryable: false, message: 'Event id {eventId} from source {source} appears twice in one batch. Send each event once.' },
  CURRENCY_UNKNOWN: { status: 400, retryable: false, message: '{path}: {currency} is not an ISO 4217 currency code. Use a three-letter code such as EUR, USD or JPY.' },
  AMOUNT_PRECISION: { status: 400, retryable: false, message: '{path}: {value} has more decimals than {currency} allows ({exponent}). Send the amount in minor units of {currency}.' },
  AMOUNT_INVALID: { status: 400, retryable: false, message: '{path}: {detail}.' },
  ALLOCATION_INVALID: { status: 400, retryable: false, message: '{path}: {detail}. Allocations of a line must sum to exactly 100% (10000 basis points) or to the line amount.' },
  REPORT_INVALID: { status: 400, retryable: false, message: '{path}: {detail}.' },
  REPORT_SOURCE_CONFLICT: { status: 409, retryable: false, message: 'Report {reportId} already belongs to source {existingSource}; source {source} cannot change it. Report ids must be unique across sources.' },
  REVISION_CONFLICT: { status: 409, retryable: false, message: 'Report {reportId} revision {revision} was already received with different content. Send a change as a new revision (revision {nextRevision}).' },
  REPORT_NOT_FOUND: { status: 404, retryable: false, message: 'No report with id {reportId}. Check the id; reports appear here once their first event is accepted.' },
  EXCEPTION_NOT_FOUND: { status: 404, retryable: false, message: 'No quarantined item with id {id}. Ids look like revision:<reportId>:<revision> or posting:<id>; list the open ones with GET /v1/exceptions?view=items (an item leaves the queue once it is replayed or superseded).' },
  REPLAY_SELECTION_INVALID: { status: 400, retryable: false, message: 'Nothing to replay: {detail}. Name the items with ids (from GET /v1/exceptions?view=items) or one cause with group (from GET /v1/exceptions), not both.' },
  REPLAY_GROUP_EMPTY: { status: 404, retryable: false, message: 'No quarantined item has the cause {group} now; nothing was replayed. List the open causes with GET /v1/exceptions or `finsync exceptions`.' },
  REPLAY_ROLE_REQUIRED: { status: 403, retryable: false, message: '{actor} may not replay items of entity {entity}: a replay needs the operator or admin role, or controller:{entity}. An admin grants it with `finsync apikey create --name NAME --role operator`.' },
  REPLAY_CONFLICT: { status: 409, retryable: true, message: 'Item {id} left the exception queue while the replay was being recorded (another replay, or a newer revision); nothing was replayed. List the queue again and retry.' },
  REPLAY_NOT_FOUND: { status: 404, retryable: false, message: 'No replay with id {id}. List the recent ones with GET /v1/replays.' },
  // --- event-log replay: re-driving a time window (src/eventlog/redrive.ts) ---
  REDRIVE_WINDOW_INVALID: { status: 400, retryable: false, message: 'The re-drive window is not valid: {detail}. Give from and to as ISO 8601 instants (e.g. 2026-05-04T00:00:00Z), from before to; nothing was re-driven.' },
  REDRIVE_WINDOW_TOO_LONG: { status: 400, retryable: false, message: 'The window from {from} to {to} spans {days} days; a re-drive covers at most {maxDays}. Split it into windows of at most {maxDays} days and re-drive them one after another; nothing was re-driven.' },
  REDRIVE_TOO_MANY: { status: 400, retryable: false, message: 'The window holds {count} report revisions; a re-drive takes at most {max}. Narrow the window or name one entity, and re-drive the parts one after another; nothing was re-driven.' },
  REDRIVE_ENTITY_UNKNOWN: { status: 400, retryable: false, message: 'Entity {entity} is not configured. Use one of: {configured}; nothing was re-driven.' },
  REDRIVE_ROLE_REQUIRED: { status: 403, retryable: false, message: '{actor} may not re-drive report revisions of entity {entity}: a re-drive needs the operator or admin role, or controller:{entity} for every entity in the window. Name your entity (entity, --entity), or ask an admin for a key with the role (`finsync apikey create --name NAME --role operator`); nothing was re-driven.' },
  ROUTE_NOT_FOUND: { status: 404, retryable: false, message: 'No route {method} {url}. See /openapi.json for the routes this server offers.' },
  INTERNAL: { status: 500, retryable: true, message: 'Internal error; the details are in the server log under correlation id {correlationId}.' },

  // --- store ---
  SCHEMA_TOO_NEW: { status: 500, retryable: false, message: 'The database schema is at version {found}, newer than this finsync knows ({known}). Upgrade finsync before running it against this database.' },
  CONFIG_INVALID: { status: 500, retryable: false, message: 'Configuration is invalid: {detail}. Fix the environment variable named and start again.' },
  CLI_ARGUMENT_INVALID: { status: 400, retryable: false, message: '{detail}. Run `finsync help` to see the accepted options.' },

  // --- pipeline: quarantine reasons (validation) ---
  MD_ENTITY_UNKNOWN: { status: 422, retryable: false, message: 'Legal entity {entity} is not known. Add the entity to the company configuration, then replay the report.' },
  MD_EMPLOYEE_UNKNOWN: { status: 422, retryable: false, message: 'Employee {employeeId} does not exist in entity {entity}. Add the employee to master data, then replay.' },
  MD_EMPLOYEE_INACTIVE: { status: 422, retryable: false, message: 'Employee {employeeId} is not active in entity {entity} on {date}. Correct the employee record or the expense date, then replay.' },
  MD_COST_CENTER_UNKNOWN: { status: 422, retryable: false, message: 'Cost center {costCenter} does not exist in entity {entity}. Add it to master data or change the allocation, then replay.' },
  MD_COST_CENTER_CLOSED: { status: 422, retryable: false, message: 'Cost center {costCenter} is closed in entity {entity} on {date}. Reopen it or change the allocation, then replay.' },
  MD_GL_ACCOUNT_UNKNOWN: { status: 422, retryable: false, message: 'GL account {account} does not exist in entity {entity}. Add it to the chart of accounts or fix the mapping, then replay.' },
  MD_GL_ACCOUNT_BLOCKED: { status: 422, retryable: false, message: 'GL account {account} is blocked for posting in entity {entity} on {date}. Unblock it or fix the mapping, then replay.' },
  MD_TAX_CODE_UNKNOWN: { status: 422, retryable: false, message: 'Tax code {taxCode} does not exist in entity {entity}. Add it to master data or correct the line, then replay.' },
  MD_TAX_CODE_INACTIVE: { status: 422, retryable: false, message: 'Tax code {taxCode} is not valid in entity {entity} on {date}. Use a tax code valid on that date, then replay.' },
  MD_PROJECT_UNKNOWN: { status: 422, retryable: false, message: 'Project {project} does not exist in entity {entity}. Add it to master data or change the allocation, then replay.' },
  MD_PROJECT_CLOSED: { status: 422, retryable: false, message: 'Project {project} is closed in entity {entity} on {date}. Reopen it or change the allocation, then replay.' },
  MD_CATEGORY_UNKNOWN: { status: 422, retryable: false, message: 'Expense category {category} does not exist in entity {entity}. Add it to master data or recode the line, then replay.' },
  MD_CATEGORY_INACTIVE: { status: 422, retryable: false, message: 'Expense category {category} is not active in entity {entity} on {date}. Recode the line or reactivate the category, then replay.' },
  MD_FX_RATE_MISSING: { status: 422, retryable: false, message: 'No exchange rate from {from} to {to} on {date} was sent with the line or is held for entity {entity}. Send the rate with the line or load it into master data.' },
  REPORT_CURRENCY_NOT_FUNCTIONAL: { status: 422, retryable: false, message: 'The report is in {currency}, but entity {entity} keeps its books in {functionalCurrency}. Reimburse in the functional currency (convert the lines with their rates), then resend.' },
  // --- expense policy (findings of POST /v1/validate and the pipeline's validation step) ---
  POLICY_CURRENCY_NOT_ALLOWED: { status: 422, retryable: false, message: 'Line {lineId} is in {currency}, which the expense policy of entity {entity} does not accept (accepted: {allowed}). Record the expense in an accepted currency, or ask finance to add {currency} to the policy.' },
  POLICY_LINE_LIMIT: { status: 422, retryable: false, message: 'Line {lineId} ({category}) comes to {amount} {currency}, above the per-line limit of {limit} {currency} in entity {entity}. Reduce the amount to the limit or attach the approval for the excess.' },
  POLICY_DAILY_LIMIT: { status: 422, retryable: false, message: '{category} expenses of employee {employeeId} on {date} come to {amount} {currency} in this report (lines {lineIds}), above the daily limit of {limit} {currency} in entity {entity}. Reduce them to the limit or attach the approval for the excess.' },
  POLICY_RECEIPT_REQUIRED: { status: 422, retryable: false, message: 'Line {lineId} comes to {amount} {currency}, above {limit} {currency}, and has no receipt. Attach the receipt (receipt: true).' },
  POLICY_PER_DIEM_TAXABLE: { status: 422, retryable: false, message: 'Per diem line {lineId} pays {amount} {currency} for {days} day(s), above the statutory {limit} {currency} ({dailyLimit} {currency} a day): {taxableAmount} {currency} is taxable and is posted to its own account. Nothing to fix unless the days or the amount are wrong.' },
  POLICY_DUPLICATE_SUSPECTED: { status: 422, retryable: false, message: 'Line {lineId} ({amount} {currency}, {merchant}, {date}) matches line {otherLineId} of report {otherReportId}. Remove it if the expense was claimed twice; otherwise say why in the line description.' },
  POLICY_WEEKEND: { status: 422, retryable: false, message: 'Line {lineId} is dated {date}, a {weekday}. Check that it was a business expense; nothing to change if it was.' },
  POLICY_HOLIDAY: { status: 422, retryable: false, message: 'Line {lineId} is dated {date}, a public holiday in entity {entity}. Check that it was a business expense; nothing to change if it was.' },
  // POLICY-CODES-END
  // --- master-data hub: records, imports, sources ---
  MD_RECORD_INVALID: { status: 400, retryable: false, message: '{path}: {detail}. Fix the record and send it again; nothing from this batch was applied.' },
  MD_ENTITY_NOT_CONFIGURED: { status: 400, retryable: false, message: '{path}: legal entity {entity} is not configured. Use one of: {configured}; nothing from this batch was applied.' },
  MD_DUPLICATE_KEY: { status: 400, retryable: false, message: '{path}: {kind} {key} of entity {entity} is also at {otherPath} with overlapping dates. Send each record once per date range; nothing from this batch was applied.' },
  MD_IMPORT_INVALID: { status: 400, retryable: false, message: '{file}: {count} problem(s), the first: {first}. Nothing was applied; fix every row listed in the details and import the file again.' },
  MD_BATCH_TOO_LARGE: { status: 400, retryable: false, message: 'The batch holds {count} records; at most {max} are accepted per request. Split it, or import a file with `finsync masterdata import`.' },
  MD_FEED_INVALID: { status: 400, retryable: false, message: '{path}: {detail}. Fix the file as described under "Feed files" in docs/master-data.md and import it again; nothing from it was applied.' },
  MD_RECORD_NOT_FOUND: { status: 404, retryable: false, message: 'No {kind} {key} in entity {entity} in any system. Check the kind, entity and key.' },
  MD_SOURCE_UNKNOWN: { status: 400, retryable: false, message: 'No master-data source named {source}. Configured sources: {configured}.' },
  MD_SOURCES_INVALID: { status: 500, retryable: false, message: 'The master-data sources file {file} is invalid: {detail}. Fix it (see docs/master-data.md) and start again.' },
  MD_SOURCE_FAILED: { status: 502, retryable: true, message: 'Sync of master-data source {source} failed: {detail}. Nothing from this run was applied; the next run starts from the same point.' },
  MD_SYNC_RUNNING: { status: 409, retryable: true, message: 'Master-data source {source} is already being synced (since {since}). Wait for that run to finish.' },
  // --- pipeline: quarantine reasons (mapping and journal) ---
  MAP_NO_RULE_SET: { status: 422, retryable: false, message: 'Entity {entity} has no approved mapping rule set (of its own or of the group) active on {date}. Propose one with `finsync mapping propose`, have it approved, then replay.' },
  MAP_NO_RULE: { status: 422, retryable: false, message: 'No rule of {version} matches line {lineId} ({item}). Add a rule for it (`finsync mapping propose`), have it approved, then replay with `finsync mapping replay --entity {entity}`.' },
  MAP_EXPRESSION_FAILED: { status: 422, retryable: false, message: 'Rule {rule} ({version}), field {field}: the expression failed on line {lineId}: {detail}. Fix the rule, have the fix approved, then replay.' },
  MAP_EXPRESSION_RESULT: { status: 422, retryable: false, message: 'Rule {rule} ({version}), field {field}: the expression gave {value} on line {lineId}; {expected}. Fix the rule, have the fix approved, then replay.' },
  REPORT_TOTAL_MISMATCH: { status: 422, retryable: false, message: 'The report total {expectedMinor} differs from the sum of its converted lines {actualMinor} by more than the rounding tolerance ({toleranceMinor}) in {currency}. Correct the report in the expense platform.' },
  REPORT_NOTHING_TO_POST: { status: 422, retryable: false, message: 'Report {reportId} revision {revision} comes to zero on every line, so there is no journal to post. Check the amounts in the expense platform and send a corrected revision.' },
  JOURNAL_UNBALANCED: { status: 422, retryable: false, message: 'The journal for report {reportId} revision {revision} does not balance in {currency} (debits {debitMinor}, credits {creditMinor}). This is a defect in the mapping; report it.' },
  // --- mapping rule sets: governance ---
  MAPPING_RULES_INVALID: { status: 422, retryable: false, message: '{file}: {count} problem(s), the first: {first}. Nothing was stored; fix every problem listed in the details and propose the file again.' },
  MAPPING_SCOPE_UNKNOWN: { status: 400, retryable: false, message: 'Rule-set scope {scope} is not a configured legal entity or GROUP. Use one of: {configured}.' },
  MAPPING_VERSION_NOT_FOUND: { status: 404, retryable: false, message: 'Rule set {scope} has no version {version}. List its versions with `finsync mapping list --scope {scope}`.' },
  MAPPING_STATE_CONFLICT: { status: 409, retryable: false, message: 'Version {version} of {scope} is {state}; {action} needs it to be {needed}.' },
  MAPPING_ROLE_REQUIRED: { status: 403, retryable: false, message: '{actor} does not hold the {role} role, which {action} needs. An admin grants it with `finsync apikey create --name NAME --role {role}`.' },
  MAPPING_FOUR_EYES: { status: 403, retryable: false, message: '{actor} proposed version {version} of {scope} and so cannot approve it. Another controller of {scope} must approve it.' },
  MAPPING_REPLAY_EMPTY: { status: 404, retryable: false, message: 'No revision of entity {entity} is quarantined for a mapping reason{filter}. Nothing was replayed.' },
  // --- pipeline: quarantine reasons (ERP) ---
  ERP_INVALID_REFERENCE: { status: 422, retryable: false, message: '{target} rejected {field} = {value}: {detail}. Fix or activate the record in the ERP (or the mapping), then replay.' },
  ERP_INVALID: { status: 422, retryable: false, message: '{target} rejected the journal: {detail}. Correct the data named, then replay.' },
  ERP_AUTH: { status: 422, retryable: false, message: '{target} refused the credentials: {detail}. Renew the connection credentials, then replay.' },
  ERP_CONFLICT: { status: 422, retryable: false, message: '{target} reported a conflict: {detail}. Check the document with external id {externalKey} in the ERP, then replay.' },
  ERP_UNCLASSIFIED: { status: 422, retryable: false, message: '{target} answered in a way finsync does not recognise (HTTP {httpStatus}). The raw answer is kept on the posting attempt; check it, then replay.' },
  ERP_RETRIES_EXHAUSTED: { status: 422, retryable: false, message: '{target} kept failing with {kind} errors over {attempts} attempts: {detail}. Check the connection, then replay.' },
  // --- reconciliation: breaks kept as exceptions (codes RECON_<class>), and running a reconciliation ---
  RECON_MISSING_IN_ERP: { status: 422, retryable: false, message: '{entity} {period}: finsync posted {externalKey} but {target} does not hold it, and re-posting it did not settle it. Check the document in the ERP, then replay the posting.' },
  RECON_EXTRA_IN_ERP: { status: 422, retryable: false, message: '{entity} {period}: {target} holds {externalKey} {detail}. A possible duplicate: reverse the extra document in the ERP, then resolve this break.' },
  RECON_AMOUNT_MISMATCH: { status: 422, retryable: false, message: '{entity} {period}: the amounts of {externalKey} differ between the sides ({detail}). Find which side is wrong; correct it in that system, then resolve this break.' },
  RECON_ACCOUNT_MISMATCH: { status: 422, retryable: false, message: '{entity} {period}: {externalKey} is booked on different accounts by the sides ({detail}). Correct the coding in the system that is wrong, then resolve this break.' },
  RECON_STATUS_MISMATCH: { status: 422, retryable: false, message: '{entity} {period}: {externalKey} {detail}. Decide with the expense platform whether it stands; reverse it or re-approve it, then resolve this break.' },
  RECON_MISSING_IN_FINSYNC: { status: 422, retryable: false, message: '{entity} {period}: the expense platform approved {externalKey} ({detail}) but finsync holds no posting of it. Fix the cause named, then replay it from the exception queue.' },
  RECON_RECALLED_AFTER_POSTING: { status: 422, retryable: false, message: 'Report {reportId} revision {revision} was recalled in the expense platform after it was posted as {externalKey}; entity {entity} flags such reports instead of reversing them. Reverse it in the ERP (or re-approve it in the platform), then resolve this break.' },
  RECON_INPUT_INVALID: { status: 422, retryable: false, message: '{source}, line {line}, column {column}: {detail}. Fix the line and run the reconciliation again; nothing was recorded.' },
  RECON_PERIOD_INVALID: { status: 400, retryable: false, message: 'Period {period} is not a month: use YYYY-MM, e.g. 2026-11, no later than the current month.' },
  RECON_ENTITY_UNKNOWN: { status: 400, retryable: false, message: 'Entity {entity} is not configured. Use one of: {configured}.' },
  RECON_SIDE_UNAVAILABLE: { status: 422, retryable: false, message: 'Cannot read the {side} side of {entity}: {detail}. Configure it (docs/reconciliation.md) or give it as a file with --{side}-file.' },
  RECON_SIDE_FAILED: { status: 502, retryable: true, message: 'Reading the {side} side of {entity} failed: {detail}. Nothing was recorded; run the reconciliation again when {system} answers.' },
  RECON_RUN_NOT_FOUND: { status: 404, retryable: false, message: 'No reconciliation run with id {id}. List the recent ones with GET /v1/reconciliations or `finsync reconcile --list`.' },
  RECON_BREAK_NOT_FOUND: { status: 404, retryable: false, message: 'No open break with id {id}. List the open ones with GET /v1/exceptions?kind=reconciliation.' },
  RECON_ROLE_REQUIRED: { status: 403, retryable: false, message: '{actor} may not {action} for entity {entity}: it needs the operator or admin role, or controller:{entity}.' },
  REIMBURSEMENT_NOT_POSTED: { status: 409, retryable: true, message: 'Report {reportId} has no posted journal, so a {milestone} reimbursement cannot be recorded for it. Send the milestone once the report is posted (GET /v1/reports/{reportId}).' },
  ROUTING_INVALID: { status: 422, retryable: false, message: 'The routing table has {count} problem(s), the first: {first}. Nothing was stored; fix every problem listed in the details and send the whole table again.' },
  ROUTING_CONFLICT: { status: 409, retryable: true, message: 'Another routing change was stored as version {version} at the same time; nothing was stored. Read the routing in force (GET /v1/routing) and send yours again.' },
  OPERATOR_ROLE_REQUIRED: { status: 403, retryable: false, message: '{actor} may not {action}: it needs the operator or admin role. An admin grants it with `finsync apikey create --name NAME --role operator`.' },
  MAINTENANCE_INVALID: { status: 400, retryable: false, message: 'Maintenance window refused: {detail}. Nothing was stored.' },
  MAINTENANCE_NOT_FOUND: { status: 404, retryable: false, message: 'No open maintenance window with id {id}. List them with GET /v1/maintenance or `finsync maintenance list`.' },
  RECON_EXPORT_INVALID: { status: 400, retryable: false, message: 'Cannot write the breaks to {path}: {detail}. Name a writable file ending in .csv or .jsonl (or .json).' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export type ErrorParams = Record<string, string | number | boolean | undefined>;

export function formatErrorMessage(code: ErrorCode, params: ErrorParams = {}): string {
  return ERRORS[code].message.replace(/\{(\w+)\}/g, (_m, name: string) =>
    params[name] === undefined ? `{${name}}` : String(params[name]),
  );
}

/** An operating error: expected, coded, shown to the user. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly params: ErrorParams;
  readonly status: number;
  readonly details?: unknown;

  constructor(code: ErrorCode, params: ErrorParams = {}, details?: unknown) {
    super(formatErrorMessage(code, params));
    this.name = 'AppError';
    this.code = code;
    this.params = params;
    this.status = ERRORS[code].status;
    this.details = details;
  }
}

/** A programmer error: the program is wrong, so stop loudly. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`Assertion failed: ${message}`);
}
