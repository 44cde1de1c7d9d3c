/**
 * Registers the event-log commands: `finsync events rebuild` (events-command.ts) and `finsync redrive`
 * (redrive-command.ts). Each loads its module only when it runs, as the other commands do.
 */
import type { Command, Option } from 'commander';

export function registerEventLogCommands(program: Command, apiKeyOption: () => Option, setExitCode: (code: number) => void): void {
  const events = program.command('events').description('The event log: rebuild a report’s state from it and compare it with the tables');
  events
    .command('rebuild')
    .description('Fold a report’s event log into its state and list every difference from the stored revisions and postings; exits 3 when there is one')
    .option('--report <id>', 'the report id (required)')
    .option('--json', 'print JSON (the answer of GET /v1/reports/{id}/rebuild)', false)
    .action(async (opts) => {
      setExitCode(await (await import('./events-command.ts')).runEventsRebuildCommand(opts));
    });
  program
    .command('redrive')
    .description('Drive the report revisions received in [--from, --to) through the pipeline again, e.g. after a connector fix: quarantined items are re-queued under their unchanged external keys, anything already through is left alone; a running `finsync serve` picks them up')
    .option('--from <iso>', 'start of the window, inclusive: an ISO 8601 date or instant with offset (required)')
    .option('--to <iso>', 'end of the window, exclusive (required)')
    .option('--reason <text>', 'why: the fix made (required)')
    .option('--entity <code>', 'only reports of this legal entity')
    .option('--dry-run', 'list what would happen and change nothing', false)
    .addOption(apiKeyOption())
    .option('--json', 'print JSON (the answer of POST /v1/redrives)', false)
    .action(async (opts) => {
      setExitCode(await (await import('./redrive-command.ts')).runRedriveCommand(opts));
    });
}
