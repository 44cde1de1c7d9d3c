// Proves the S/4HANA connector's async mode against the simulator (acknowledgement, confirmation pushed to a callback route, retried callbacks, lost and late confirmations, a backed-up inbound queue) and that, under each of the three duplicate behaviours the contract leaves open, the lane's rule (an unknown outcome is looked up before any resend) never leaves a second document, in sync and in async mode, while a naive resend would.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RETRYABLE_KINDS, type PostingRequest, type PostOutcome } from '../../src/connectors/contract.ts';
import { createS4HanaConnector, type S4HanaConnector, type S4HanaConnectorOptions } from '../../src/connectors/s4hana/client.ts';
import { startS4HanaSimulator, type DuplicateHandling, type S4HanaSimulator, type S4HanaSimulatorOptions } from '../../src/connectors/s4hana/simulator.ts';
import { postingKey } from '../../src/domain/keys.ts';

const USER = 'CC_FINSYNC';
const PASSWORD = 'secret-2';

function buildRequest(reportId: string, account = '6100'): PostingRequest {
  return {
    externalKey: postingKey(reportId, 1, 's4hana'),
    correlationId: `corr-${reportId}`,
    references: { subsidiaryId: '1010', accounts: { '6100': '61000000', '6300': '63000000', '2100': '21000000' }, costCenters: {}, employees: {}, taxCodes: {} },
    journal: {
      kind: 'journal',
      reportId,
      revision: 1,
      entity: 'DE01',
      currency: 'EUR',
      postingDate: '2026-04-30',
      memo: `Expense report ${reportId}`,
      conversions: [],
      lines: [
        { account, debitMinor: 4200, creditMinor: 0, memo: 'Train' },
        { account: '2100', debitMinor: 0, creditMinor: 4200, memo: 'Owed' },
      ],
    },
  };
}

/** The hub's callback route, reduced to a node:http server that hands each body to the connector. */
interface CallbackRoute {
  readonly url: string;
  receiver: S4HanaConnector | undefined;
  /** Answer the next n deliveries with HTTP 500 before taking them in. */
  failNext: number;
  readonly statuses: number[];
  close(): Promise<void>;
}

async function startCallbackRoute(): Promise<CallbackRoute> {
  const route: Omit<CallbackRoute, 'url' | 'close'> = { receiver: undefined, failNext: 0, statuses: [] };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let status = 500;
      if (route.failNext > 0) route.failNext--;
      else status = route.receiver?.receiveConfirmation(Buffer.concat(chunks).toString('utf8')).status === 'accepted' ? 200 : 400;
      route.statuses.push(status);
      res.writeHead(status);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/s4hana/confirmations`;
  return Object.assign(route, {
    url,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  });
}

interface Setup {
  readonly sim: S4HanaSimulator;
  readonly route: CallbackRoute;
  readonly connector: S4HanaConnector;
  close(): Promise<void>;
}

async function setUp(simOptions: Partial<S4HanaSimulatorOptions> = {}, connectorOptions: Partial<S4HanaConnectorOptions> = {}): Promise<Setup> {
  const route = await startCallbackRoute();
  const sim = await startS4HanaSimulator({
    user: USER,
    password: PASSWORD,
    seed: 5,
    callbackUrl: route.url,
    callbackRetryDelayMs: 5,
    companyCodes: [{ code: '1010', glAccounts: ['61000000', '63000000', '21000000'], blockedGlAccounts: ['63000000'] }],
    ...simOptions,
  });
  const connector = createS4HanaConnector({ target: 's4hana', baseUrl: sim.url, user: USER, password: PASSWORD, mode: 'async', requestTimeoutMs: 5000, confirmationWaitMs: 5000, ...connectorOptions });
  route.receiver = connector;
  return {
    sim,
    route,
    connector,
    close: async () => {
      await sim.close();
      await route.close();
    },
  };
}

describe('S/4HANA async posting against the simulator', () => {
  test('an async post is acknowledged, and settled by the confirmation pushed to the callback route', async () => {
    const s = await setUp();
    try {
      const outcome = await s.connector.post(buildRequest('R-1'));
      assert.deepEqual(outcome, { status: 'created', documentId: '1010/0100000001/2026' });
      await s.sim.settled();
      assert.deepEqual(s.route.statuses, [200]);
      assert.equal(s.sim.stats().delivered, 1);
      assert.equal(s.sim.documents().length, 1);
    } finally {
      await s.close();
    }
  });

  test('an async batch answers each item from its own confirmation, in order', async () => {
    const s = await setUp();
    try {
      const outcomes = await s.connector.postBatch([buildRequest('R-2'), buildRequest('R-3', '6300'), buildRequest('R-4')]);
      assert.deepEqual(outcomes.map((o) => o.status), ['created', 'failed', 'created']);
      assert.deepEqual(outcomes[1].status === 'failed' && [outcomes[1].error.field, outcomes[1].error.value], ['account', '63000000']);
      assert.equal(s.sim.documents().length, 2);
    } finally {
      await s.close();
    }
  });

  test('a callback that fails is retried until the route takes the confirmation', async () => {
    const s = await setUp();
    try {
      s.route.failNext = 2;
      assert.equal((await s.connector.post(buildRequest('R-5'))).status, 'created');
      await s.sim.settled();
      assert.deepEqual(s.route.statuses, [500, 500, 200]);
      assert.deepEqual([s.sim.stats().failedAttempts, s.sim.stats().delivered], [2, 1]);
    } finally {
      await s.close();
    }
  });

  test('a confirmation that never comes is unknown, and lookup then finds the document', async () => {
    const s = await setUp({ faults: { confirmationLossRate: 1 } }, { confirmationWaitMs: 100 });
    try {
      const request = buildRequest('R-6');
      const outcome = await s.connector.post(request);
      assert.equal(outcome.status, 'unknown');
      assert.equal(outcome.status === 'unknown' && outcome.error.vendorCode, 'NO_CONFIRMATION');
      await s.sim.settled();
      assert.deepEqual(await s.connector.lookup(request.externalKey), { status: 'found', documentId: s.sim.documents()[0].documentId });
    } finally {
      await s.close();
    }
  });

  test('while a message may still be queued in S/4HANA, lookup does not call it absent; after the settle window it does', async () => {
    let nowMs = 1_000_000;
    const s = await setUp({ faults: { confirmationLossRate: 1 } }, { confirmationWaitMs: 50, asyncSettleMs: 600_000, now: () => nowMs });
    try {
      s.sim.pauseAsync();
      const request = buildRequest('R-7');
      assert.equal((await s.connector.post(request)).status, 'unknown');
      const pending = await s.connector.lookup(request.externalKey);
      assert.deepEqual(pending.status === 'failed' && [pending.error.kind, pending.error.vendorCode], ['transient', 'CONFIRMATION_PENDING']);
      nowMs += 600_000;
      assert.deepEqual(await s.connector.lookup(request.externalKey), { status: 'absent' });
      s.sim.resumeAsync();
      await s.sim.settled();
      assert.equal((await s.connector.lookup(request.externalKey)).status, 'found');
    } finally {
      await s.close();
    }
  });

  test('a confirmation that arrives after post gave up is kept, and lookup uses it when the read service has nothing', async () => {
    const s = await setUp({}, { confirmationWaitMs: 50 });
    try {
      s.sim.pauseAsync();
      const request = buildRequest('R-8');
      assert.equal((await s.connector.post(request)).status, 'unknown');
      s.sim.resumeAsync();
      await s.sim.settled();
      const [document] = s.sim.documents();
      // Stands in for a read service that has not caught up with the posting yet.
      s.sim.removeDocument(document.documentId);
      assert.deepEqual(await s.connector.lookup(request.externalKey), { status: 'found', documentId: document.documentId });
    } finally {
      await s.close();
    }
  });

  test('the callback route rejects what is not a confirmation, and takes a repeated confirmation harmlessly', async () => {
    const s = await setUp();
    try {
      assert.equal(s.connector.receiveConfirmation('<html>proxy error</html>').status, 'rejected');
      const other = '<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body><n0:Other xmlns:n0="urn:x"/></soap-env:Body></soap-env:Envelope>';
      assert.deepEqual(s.connector.receiveConfirmation(other), { status: 'rejected', reason: 'the SOAP body holds Other, not JournalEntryBulkCreateConfirmation' });
      let captured = '';
      s.route.receiver = { ...s.connector, receiveConfirmation: (xml) => ((captured = xml), s.connector.receiveConfirmation(xml)) };
      assert.equal((await s.connector.post(buildRequest('R-9'))).status, 'created');
      assert.deepEqual(s.connector.receiveConfirmation(captured), { status: 'accepted', documents: 1, matched: 0 });
    } finally {
      await s.close();
    }
  });
});

/** The posting lane's rule, reduced: an unknown outcome is looked up before any resend; retryable failures are tried again. */
async function postLikeLane(connector: S4HanaConnector, request: PostingRequest, between: () => Promise<void>): Promise<PostOutcome> {
  let mayHaveCommitted = false;
  for (let attempt = 0; attempt < 6; attempt++) {
    if (mayHaveCommitted) {
      const found = await connector.lookup(request.externalKey);
      if (found.status === 'found') return { status: 'already_exists', documentId: found.documentId };
      if (found.status === 'failed') {
        await between();
        continue;
      }
      mayHaveCommitted = false;
    }
    const outcome = await connector.post(request);
    if (outcome.status === 'unknown') mayHaveCommitted = true;
    if (outcome.status !== 'unknown' && !(outcome.status === 'failed' && RETRYABLE_KINDS.has(outcome.error.kind))) return outcome;
    await between();
  }
  throw new Error('the posting did not settle in 6 attempts');
}

describe('S/4HANA duplicate behaviours: the lookup before any resend leaves one document', () => {
  const modes: DuplicateHandling[] = ['accept', 'reject-message-id', 'drop-repeated-async'];
  for (const mode of ['sync', 'async'] as const) {
    for (const handling of modes) {
      test(`${mode}, ${handling}: the first answer is lost, the lane settles on the one document`, async () => {
        // Sync: the connection is cut after the commit (the client cannot tell it from a lost answer).
        const lose = mode === 'sync' ? { timeoutAfterCommitRate: 1, holdMs: 20 } : { confirmationLossRate: 1 };
        const s = await setUp({ duplicateHandling: handling, faults: lose }, { mode, confirmationWaitMs: 100 });
        try {
          const request = buildRequest(`R-${mode}-${handling}`);
          const outcome = await postLikeLane(s.connector, request, async () => {
            s.sim.setFaults({});
            await s.sim.settled();
          });
          assert.equal(s.sim.documents().length, 1);
          assert.deepEqual(outcome, { status: 'already_exists', documentId: s.sim.documents()[0].documentId });
        } finally {
          await s.close();
        }
      });
    }
  }

  test('without the lookup a resend duplicates under accept; reject-message-id and drop-repeated-async are what would save a naive client', async () => {
    const expected: Record<DuplicateHandling, { outcome: string; documents: number }> = {
      accept: { outcome: 'created', documents: 2 },
      'reject-message-id': { outcome: 'already_exists', documents: 1 },
      'drop-repeated-async': { outcome: 'unknown', documents: 1 },
    };
    for (const handling of modes) {
      const s = await setUp({ duplicateHandling: handling, faults: { confirmationLossRate: 1 } }, { confirmationWaitMs: 100 });
      try {
        const request = buildRequest(`R-naive-${handling}`);
        assert.equal((await s.connector.post(request)).status, 'unknown');
        s.sim.setFaults({});
        await s.sim.settled();
        // The resend waits long enough for any confirmation S/4HANA will send.
        const patient = createS4HanaConnector({ target: 's4hana', baseUrl: s.sim.url, user: USER, password: PASSWORD, mode: 'async', requestTimeoutMs: 5000, confirmationWaitMs: 1000 });
        s.route.receiver = patient;
        const resent = await patient.post(request);
        await s.sim.settled();
        assert.equal(resent.status, expected[handling].outcome, handling);
        assert.equal(s.sim.documents().length, expected[handling].documents, handling);
        assert.equal(s.sim.stats().droppedMessages, handling === 'drop-repeated-async' ? 1 : 0);
      } finally {
        await s.close();
      }
    }
  });
});
