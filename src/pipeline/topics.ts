/** Message topics the pipeline publishes through the broker. */
export const TOPICS = {
  processRevision: 'revision.process',
  recallReport: 'report.recall',
} as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];
