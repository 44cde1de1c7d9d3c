/** The size limits of a rule file, shared by the entry point and the readers. */
export const RULE_FILE_LIMITS = {
  textChars: 2_000_000,
  rows: 5000,
  descriptionChars: 500,
  /**
   * Nesting of the YAML syntax tree; a rule file needs 6 (document, top mapping, rules, rule,
   * when/then, value). Deeper input is refused before the yaml library composes it: composing
   * recurses per level, and near the stack limit V8 can abort the process instead of throwing.
   */
  yamlDepth: 32,
} as const;
