/**
 * The `finsync` command line: argument parsing only; each command lives in its own file.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { registerEventLogCommands } from './eventlog-commands.ts';

function parseBoundedInt(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number, got "${value}"`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}, got ${n}`);
    return n;
  };
}

/** For options given once per value (`--role a --role b`). */
function collect(value: string, previous: readonly string[]): string[] {
  return [...previous, value];
}

/** --api-key, falling back to FINSYNC_API_KEY: whom a mapping or replay command acts as. */
function apiKeyOption(): Option {
  return new Option('--api-key <key>', 'act as the holder of this API key (default: FINSYNC_API_KEY)').env('FINSYNC_API_KEY');
}

export async function runCli(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name('finsync')
    .description('Self-hosted finance sync hub: approved expense reports in, balanced journals posted to ERPs exactly once.')
    .showHelpAfterError()
    .exitOverride();
  program
    .command('demo')
    .description('Run the reference scenario on this machine with simulators (SQLite, or PostgreSQL when DATABASE_URL is set)')
    .option('--reports <n>', 'number of expense reports', parseBoundedInt('--reports', 1, 200_000), 300)
    .option('--seed <s>', 'seed of the simulated platform and faults', parseBoundedInt('--seed', 0, 2 ** 31 - 1), 1)
    .option('--faults', 'inject faults: duplicate deliveries, timeouts after commit, 429 bursts, a maintenance window, invalid references', false)
    .option('--json', 'print one JSON line with the figures instead of the human summary', false)
    .option('--keep', 'keep the demo database afterwards', false)
    .action(async (opts) => {
      // Each command loads its own modules, so `finsync help` or a typo answers at once.
      exitCode = await (await import('./demo-command.ts')).runDemoCommand(opts);
    });
  program
    .command('serve')
    .description('Run the hub: HTTP API and workers')
    .action(async () => {
      exitCode = await (await import('./serve-command.ts')).runServeCommand();
    });
  program
    .command('migrate')
    .description('Apply database migrations')
    .action(async () => {
      exitCode = await (await import('./migrate-command.ts')).runMigrateCommand();
    });
  program
    .command('status')
    .description('Show the schema version and how many reports and postings are in each state')
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      exitCode = await (await import('./status-command.ts')).runStatusCommand(opts);
    });
  const apikey = program.command('apikey').description('Manage API keys');
  apikey
    .command('create')
    .description('Create an API key; it is printed once and only its hash is stored')
    .requiredOption('--name <name>', 'who or what uses the key')
    .option('--role <role>', 'a role the key holds: admin, operator, auditor, controller:<entity>, controller:GROUP or controller:* (repeatable)', collect, [])
    .action(async (opts) => {
      exitCode = await (await import('./apikey-command.ts')).runApiKeyCreateCommand(opts);
    });
  const masterdata = program.command('masterdata').description('Master data: sync sources, import feed files, show records');
  masterdata
    .command('sync')
    .description('Run one master-data source now (incremental where the source allows), with a progress bar on long runs')
    .requiredOption('--source <name>', 'a source from the sources file (FINSYNC_MASTER_DATA_SOURCES)')
    .option('--json', 'print the result as JSON', false)
    .action(async (opts) => {
      exitCode = await (await import('./masterdata-command.ts')).runMasterDataSyncCommand(opts);
    });
  masterdata
    .command('import')
    .description('Import a CSV or JSON feed file as one system’s view; a file with any bad row is refused whole')
    .requiredOption('--system <system>', 'whose view the file holds: erp, hr, expense or finsync')
    .requiredOption('--file <path>', 'the feed file (.csv or .json)')
    .option('--kind <kind>', 'record kind for CSV rows without a kind column')
    .option('--format <format>', 'csv or json, when the file name does not say')
    .option('--json', 'print the result (or the problems) as JSON', false)
    .action(async (opts) => {
      exitCode = await (await import('./masterdata-command.ts')).runMasterDataImportCommand(opts);
    });
  masterdata
    .command('show')
    .description('Show every version of one record in every system, with who sent it and when')
    .requiredOption('--kind <kind>', 'employee, cost_center, project, gl_account, tax_code, supplier, category, currency, fx_rate or policy')
    .requiredOption('--entity <code>', 'legal entity')
    .requiredOption('--key <key>', 'the record key')
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      exitCode = await (await import('./masterdata-command.ts')).runMasterDataShowCommand(opts);
    });
  masterdata
    .command('sources')
    .description('List the configured sources with their schedule and last run')
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      exitCode = await (await import('./masterdata-command.ts')).runMasterDataSourcesCommand(opts);
    });
  const mapping = program.command('mapping').description('Mapping rule sets: propose, review, approve, roll back, diff, export; replay what a mapping defect quarantined');
  const mappingCommand = () => import('./mapping-command.ts');
  mapping
    .command('list')
    .description('List rule-set versions: state, effective date, author, reviewer, decider, whether in force today, defects')
    .option('--scope <scope>', 'one entity code or GROUP')
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      exitCode = await (await mappingCommand()).runMappingListCommand(opts);
    });
  mapping
    .command('show <ref>')
    .description('Show one version (e.g. DE01@3): who proposed, reviewed and decided it, and its dry run')
    .option('--source', 'print the file as proposed', false)
    .option('--json', 'print JSON', false)
    .action(async (ref: string, opts) => {
      exitCode = await (await mappingCommand()).runMappingShowCommand(ref, opts);
    });
  mapping
    .command('propose')
    .description('Propose a new version of a scope’s rule set from a YAML or CSV file; a file with any problem is refused whole, each problem printed as file:line:column')
    .requiredOption('--scope <scope>', 'entity code or GROUP')
    .requiredOption('--file <path>', 'the rule file (.yaml, .yml or .csv)')
    .requiredOption('--effective <date>', 'the first posting date it codes (YYYY-MM-DD)')
    .requiredOption('--reason <text>', 'why the change')
    .addOption(apiKeyOption())
    .option('--json', 'print the new version (or the problems) as JSON', false)
    .action(async (opts) => {
      exitCode = await (await mappingCommand()).runMappingProposeCommand(opts);
    });
  for (const [name, record, description] of [
    ['dry-run', false, 'Code the last posted reports again with a version and show what would change; records nothing'],
    ['review', true, 'Review a proposed version: a dry run, recorded with the version (approval needs it)'],
  ] as const) {
    mapping
      .command(`${name} <ref>`)
      .description(description)
      .option('--reports <n>', 'posted reports per entity to code again (default 50)')
      .addOption(apiKeyOption())
      .option('--json', 'print JSON', false)
      .action(async (ref: string, opts) => {
        exitCode = await (await mappingCommand()).runMappingDryRunCommand(ref, opts, record);
      });
  }
  mapping
    .command('approve <ref>')
    .description('Approve a reviewed version (a controller of its scope other than its author)')
    .option('--reason <text>', 'why')
    .addOption(apiKeyOption())
    .option('--json', 'print JSON', false)
    .action(async (ref: string, opts) => {
      exitCode = await (await mappingCommand()).runMappingApproveCommand(ref, opts);
    });
  mapping
    .command('reject <ref>')
    .description('Reject a proposed or reviewed version')
    .requiredOption('--reason <text>', 'why')
    .addOption(apiKeyOption())
    .option('--json', 'print JSON', false)
    .action(async (ref: string, opts) => {
      exitCode = await (await mappingCommand()).runMappingRejectCommand(ref, opts);
    });
  mapping
    .command('activate <ref>')
    .description('Put an approved version in force again from a date (rollback)')
    .requiredOption('--effective <date>', 'from this posting date (YYYY-MM-DD)')
    .requiredOption('--reason <text>', 'why')
    .addOption(apiKeyOption())
    .option('--json', 'print JSON', false)
    .action(async (ref: string, opts) => {
      exitCode = await (await mappingCommand()).runMappingActivateCommand(ref, opts);
    });
  mapping
    .command('diff <refA> <refB>')
    .description('What changes from one version to another')
    .option('--json', 'print JSON', false)
    .action(async (refA: string, refB: string, opts) => {
      exitCode = await (await mappingCommand()).runMappingDiffCommand(refA, refB, opts);
    });
  mapping
    .command('export <ref>')
    .description('Print a version’s rule file: as proposed, or converted to the format asked for')
    .option('--format <format>', 'yaml or csv')
    .action(async (ref: string, opts) => {
      exitCode = await (await mappingCommand()).runMappingExportCommand(ref, opts);
    });
  mapping
    .command('replay')
    .description('Run again every revision of an entity quarantined for a mapping reason, with the rules now in force; a running `finsync serve` picks them up')
    .requiredOption('--entity <code>', 'legal entity')
    .requiredOption('--reason <text>', 'why')
    .option('--code <code>', 'only revisions quarantined with this code (repeatable)', collect, [])
    .addOption(apiKeyOption())
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      exitCode = await (await mappingCommand()).runMappingReplayCommand(opts);
    });
  program
    .command('exceptions')
    .description('The exception queue: quarantined revisions and postings grouped by cause (count, code, record, entities, oldest age), or one by one')
    .option('--entity <code>', 'one legal entity')
    .option('--target <name>', 'one target ERP')
    .option('--kind <kind>', 'master_data, mapping, report, policy, invalid, auth, conflict, unclassified, retries_exhausted or other')
    .option('--code <code>', 'one quarantine code, e.g. MD_COST_CENTER_CLOSED')
    .option('--older-than-hours <n>', 'only items first seen at least this many hours ago')
    .option('--items', 'one line per item instead of per cause', false)
    .option('--json', 'print JSON (the answer of GET /v1/exceptions)', false)
    .action(async (opts) => {
      exitCode = await (await import('./exceptions-command.ts')).runExceptionsCommand(opts);
    });
  const replay = program
    .command('replay')
    .description('Replay quarantined items after a fix: the items named, or every item of one cause (from `finsync exceptions`); the external key is reused, so nothing posts twice')
    .option('--id <id>', 'an item id: revision:<reportId>:<revision> or posting:<id> (repeatable)', collect, [])
    .option('--group <cause>', 'a cause key (`finsync exceptions --json`, groups[].cause): every item of that cause now')
    .option('--reason <text>', 'why: the fix made (required)')
    .addOption(apiKeyOption())
    .option('--json', 'print JSON (the answer of POST /v1/replays)', false)
    .action(async (opts) => {
      exitCode = await (await import('./replay-command.ts')).runReplayCommand(opts);
    });
  replay
    .command('show <replayId>')
    .description('Show a replay: who, when, why, and each item’s outcome now (pending, posted with its recovery time, quarantined again)')
    .option('--json', 'print JSON (the answer of GET /v1/replays/{id})', false)
    .action(async (replayId: string, _opts, command: Command) => {
      exitCode = await (await import('./replay-command.ts')).runReplayShowCommand(replayId, command.optsWithGlobals());
    });
  const reconcile = program
    .command('reconcile')
    .description('Three-way reconciliation of one entity and period: what the expense platform approved, what finsync posted, what the ERP holds; safe breaks heal, the others open exceptions')
    .option('--entity <code>', 'the legal entity (required)')
    .option('--period <YYYY-MM>', 'the accounting period; default the current month')
    .option('--platform-file <csv>', "the platform's side from a line file (docs/reconciliation.md) instead of its connector")
    .option('--erp-file <csv>', "the ERP's side from a line file instead of its connector")
    .option('--export <file>', 'write the breaks to a .csv, .jsonl or .json file (JSON: breaks and the summary)')
    .option('--no-heal', 'record the breaks without healing any')
    .option('--no-progress', 'no progress bar')
    .addOption(apiKeyOption())
    .option('--json', 'print the run summary as JSON (the answer of POST /v1/reconciliations)', false)
    .action(async (opts) => {
      if (opts.entity === undefined) throw (await import('./cli-support.ts')).argumentInvalid('--entity is required (e.g. --entity DE01)');
      exitCode = await (await import('./reconcile-command.ts')).runReconcileCommand(opts);
    });
  reconcile
    .command('list')
    .description('Recent reconciliation runs, newest first')
    .option('--entity <code>', 'one legal entity')
    .option('--limit <n>', 'how many (default 20, at most 200)')
    .option('--json', 'print JSON', false)
    .action(async (opts, command: Command) => {
      // --json after the subcommand may be taken by the parent, which has one too: either counts.
      exitCode = await (await import('./reconcile-command.ts')).runReconcileListCommand(command.optsWithGlobals());
    });
  reconcile
    .command('show <runId>')
    .description('One run: completeness, breaks by class, what was healed, the balances that differ')
    .option('--json', 'print JSON (the answer of GET /v1/reconciliations/{id})', false)
    .action(async (runId: string, _opts, command: Command) => {
      exitCode = await (await import('./reconcile-command.ts')).runReconcileShowCommand(runId, command.optsWithGlobals());
    });
  const maintenance = program.command('maintenance').description("A target's maintenance calendar: its lane holds its postings inside a window, in order, and drains after it");
  maintenance
    .command('add')
    .description('Add a window: --target X --from T --to T (ISO 8601 with a zone)')
    .option('--target <name>', 'the target connection, e.g. s4hana')
    .option('--from <time>', 'start, e.g. 2026-11-28T22:00:00Z')
    .option('--to <time>', 'end, e.g. 2026-11-29T02:00:00Z')
    .option('--reason <text>', 'why (default: planned maintenance)')
    .addOption(apiKeyOption())
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      exitCode = await (await import('./routing-command.ts')).runMaintenanceAdd(opts);
    });
  maintenance
    .command('list')
    .description('Windows not yet over (--all: every window)')
    .option('--target <name>', 'one target')
    .option('--all', 'past and cancelled windows too', false)
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      exitCode = await (await import('./routing-command.ts')).runMaintenanceList(opts);
    });
  maintenance
    .command('cancel <id>')
    .description('Cancel a window; the lane resumes at its next poll')
    .addOption(apiKeyOption())
    .option('--json', 'print JSON', false)
    .action(async (id: string, opts) => {
      exitCode = await (await import('./routing-command.ts')).runMaintenanceCancel(id, opts);
    });
  const routing = program.command('routing').description('The routing table: entity → target with cutover dates and shadow targets, versioned');
  routing
    .command('show')
    .description('The routing in force')
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      exitCode = await (await import('./routing-command.ts')).runRoutingShow(opts);
    });
  routing
    .command('set')
    .description('Store a new routing version from a JSON file (checked; in force for every report processed from now on)')
    .option('--file <json>', 'the rules: an array, or {"rules": [...]}')
    .option('--reason <text>', 'why')
    .addOption(apiKeyOption())
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      exitCode = await (await import('./routing-command.ts')).runRoutingSet(opts);
    });
  registerEventLogCommands(program, apiKeyOption, (code) => (exitCode = code));
  program
    .command('drift')
    .description('Master-data drift between the ERP and HR / the expense platform, per entity, with the reports each record blocks')
    .option('--entity <code>', 'one legal entity')
    .option('--kind <kind>', 'one record kind')
    .option('--as-of <date>', 'compare as of this date (YYYY-MM-DD); default today')
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      exitCode = await (await import('./masterdata-command.ts')).runDriftCommand(opts);
    });
  try {
    await program.parseAsync(argv as string[]);
    return exitCode;
  } catch (error) {
    return reportCliError(error);
  }
}

function reportCliError(error: unknown): number {
  const e = error as { code?: string; exitCode?: number; message?: string };
  if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
    // Commander sets the exit code itself: 0 for --help, help and --version, 1 when it shows the help
    // because no command was given.
    return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? (e.exitCode ?? 0) : (e.exitCode ?? 2);
  }
  if (error instanceof Error && error.name === 'AppError') {
    const appError = error as Error & { code: string };
    process.stderr.write(`finsync: ${appError.code}: ${appError.message}\n`);
    return 2;
  }
  process.stderr.write(`finsync: ${(error as Error).stack ?? String(error)}\n`);
  return 1;
}
