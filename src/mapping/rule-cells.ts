/**
 * What both readers of a rule file produce: positions in the file (SourceMap), cells with where
 * each of their characters is, and the raw rows and settings that are compiled into rules.
 */
import type { PaymentType } from '../domain/report.ts';
import type { MatchColumn, OutputField, RuleProblem, SourcePos } from './rule-set.ts';
import type { Locate } from './expressions.ts';

/** Turns character offsets into 1-based lines and columns (columns in UTF-16 code units). */
export class SourceMap {
  private readonly lineStarts: number[] = [0];

  constructor(
    readonly file: string,
    text: string,
  ) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.lineStarts.push(i + 1);
  }

  pos(offset: number): SourcePos {
    const starts = this.lineStarts;
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return { file: this.file, line: low + 1, column: Math.max(0, offset - starts[low]!) + 1 };
  }

  problem(offset: number, code: RuleProblem['code'], message: string): RuleProblem {
    return { ...this.pos(offset), code, message };
  }
}

/**
 * A cell: its trimmed text and where each character of it is. `offsetOf(i)` is the file offset of
 * character i of the untrimmed value; it is called only when a problem needs a column.
 */
export function makeCell(value: string, offsetOf: (i: number) => number, emptyAt: number, source: SourceMap): Cell {
  const text = value.trim();
  const lead = text.length === 0 ? 0 : value.length - value.trimStart().length;
  const locate = (i: number): SourcePos => {
    if (text.length === 0) return source.pos(emptyAt);
    if (i < text.length) return source.pos(offsetOf(lead + Math.max(0, i)));
    const last = source.pos(offsetOf(lead + text.length - 1));
    return { ...last, column: last.column + 1 };
  };
  return { text, at: locate(0), locate };
}

/** A cell of a row: its trimmed text, where that starts, and where each of its characters is. */
export interface Cell {
  readonly text: string;
  readonly at: SourcePos;
  readonly locate: Locate;
}

/** A row as read from either format, before it is compiled. */
export interface RawRow {
  readonly at: SourcePos;
  readonly id?: Cell;
  readonly when: readonly (readonly [MatchColumn, Cell])[];
  readonly then: readonly (readonly [OutputField, Cell])[];
  /** Where a missing account is reported: YAML the then: key (else the rule), CSV the account cell. */
  readonly thenAt: SourcePos;
}

export interface RawRuleSet {
  readonly description?: string;
  readonly settings: { credit: Partial<Record<PaymentType, string>>; roundingAccount?: string; at: Record<string, SourcePos> };
  readonly rulesAt: SourcePos;
  readonly rows: readonly RawRow[];
}
