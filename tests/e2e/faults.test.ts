/**
 * Sync runs through a faulty network: the state machine runs locally with the real handlers, whose
 * S3 client talks to the embedded server through a proxy that fails a seeded share of requests
 * (503 SlowDown, 500 InternalError, connections dropped before or after the server acted).
 *
 * What must hold: every run ends cleanly, SUCCEEDED or FAILED with an error and a cause, with no
 * exception escaping the runner; backups never lose or delete anything; a mirror deletes only the
 * extras, never an object the source still has; and re-runs with fewer faults, then none,
 * converge on a destination equal to the source (keys, sizes, content hashes, metadata).
 */
import { strict as assert } from "node:assert";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SyncRequest } from "../../model/contract";
import { createHandlers } from "../../handlers/index";
import { stackIam } from "../helpers/iam";
import { createS3Client } from "../../handlers/engine/s3Client";
import { buildDefinition } from "../../infra/definition";
import type { EmbeddedS3 } from "../../s3-server/embeddedS3";
import { startS3rverProcess } from "../servers/s3rver";
import { LOCAL_TOPIC_ARN } from "../../cli/localSync";
import { localFunctionArns, runLocally, type HandlerTable, type LocalRunResult } from "../../local-stepfunctions/runner";
import { fingerprints } from "../../handlers/engine/faithfulCopy";
import { assertConverged } from "../helpers/convergence";
import { startFaultProxy, type FaultProxy, type FaultRates } from "../helpers/faultProxy";
import { countingClient, listKeys, newBucket, put, putMany } from "../helpers/s3";
import { s3ObjectStore } from "../../cli/localSync";

const ARNS = localFunctionArns();
const DEFINITION = buildDefinition({ functionArns: ARNS, notificationTopicArn: LOCAL_TOPIC_ARN });

/** Most runs a test makes before the buckets must have converged. */
const MAX_RUNS = 6;
/** Most time one run may take, faults and retries included. */
const RUN_TIME_LIMIT_MS = 45_000;

const SOURCE_KEYS = Array.from({ length: 48 }, (_, i) => `${"abcd"[i % 4]}/object-${String(i).padStart(3, "0")}`);
const body = (key: string) => `content of ${key}\n`.repeat(1 + (key.length % 4));
const PAGE = { ContentType: "text/html", CacheControl: "max-age=60", Metadata: { owner: "team-a" } };
/** In the destination already and identical: a mirror must keep them. */
const KEEP_KEYS = SOURCE_KEYS.slice(0, 12);
/** In the destination with other content, or other metadata. */
const STALE_KEYS = SOURCE_KEYS.slice(12, 16);
/** Only in the destination, spread over several partitions: a mirror deletes exactly these. */
const EXTRA_KEYS = ["a/zz-extra-1", "b/extra-2", "c/extra-3", "d/extra-4", "e/extra-5", "e/extra-6"];

describe("sync runs through injected S3 faults", function () {
  this.timeout(240_000);
  let s3: EmbeddedS3;
  let client: S3Client;
  let reports: string;
  let source: string;
  let proxy: FaultProxy | undefined;
  const escaped: unknown[] = [];
  const onUnhandled = (reason: unknown) => escaped.push(reason);

  before(async () => {
    process.on("unhandledRejection", onUnhandled);
    s3 = await startS3rverProcess();
    client = countingClient(s3).client;
    reports = await newBucket(client, "reports");
    source = await newBucket(client, "src");
    await putMany(client, source, SOURCE_KEYS, body);
    await put(client, source, "site/index.html", "<h1>hello</h1>", PAGE);
    await put(client, source, "site/empty", "", { ContentLength: 0 });
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    assert.deepEqual(escaped.splice(0), [], "no promise rejection escaped a run");
  });
  after(async () => {
    process.off("unhandledRejection", onUnhandled);
    client?.destroy();
    await s3?.stop();
  });

  /** A destination that already holds some of the source, stale versions, and extras. */
  async function seededDestination(): Promise<string> {
    const destination = await newBucket(client, "dst");
    await putMany(client, destination, KEEP_KEYS, body);
    await put(client, destination, "site/index.html", "<h1>hello</h1>", PAGE);
    await putMany(client, destination, STALE_KEYS.slice(0, 2), (key) => `old ${key}`);
    await put(client, destination, STALE_KEYS[2], body(STALE_KEYS[2]), { ContentType: "text/csv" });
    await put(client, destination, STALE_KEYS[3], body(STALE_KEYS[3]), { Metadata: { stale: "yes" } });
    await putMany(client, destination, EXTRA_KEYS, (key) => `extra ${key}`);
    // The source's metadata changed since that copy: rewritten after it, with what it has now.
    await put(client, source, STALE_KEYS[2], body(STALE_KEYS[2]));
    await put(client, source, STALE_KEYS[3], body(STALE_KEYS[3]));
    return destination;
  }

  /**
   * Runs the definition with the handlers' client behind the proxy. `maxAttempts` is the S3
   * client's: 8 (the default) lets the SDK absorb most faults; fewer lets them reach the state
   * machine. Step Functions' own retries wait 20 ms instead of seconds.
   */
  async function runThroughProxy(request: SyncRequest, maxAttempts?: number): Promise<LocalRunResult> {
    const faulty = createS3Client({
      endpoint: (proxy as FaultProxy).endpoint,
      region: s3.region,
      credentials: s3,
      maxAttempts,
    });
    // When one partition fails, the Map fails at once while the other partitions' calls carry on,
    // as Lambda invocations do in AWS: the buckets are only inspected once every call has ended.
    const inFlight = new Set<Promise<unknown>>();
    const handlers = createHandlers({ client: faulty, reportBucket: reports, reportPrefix: "reports/" });
    const tracked = Object.fromEntries(
      Object.entries(handlers).map(([name, handler]) => [
        name,
        (event: never) => {
          const call = (handler as (event: never) => Promise<unknown>)(event);
          inFlight.add(call);
          const forget = () => inFlight.delete(call);
          call.then(forget, forget);
          return call;
        },
      ]),
    ) as unknown as HandlerTable;
    let timer: NodeJS.Timeout | undefined;
    try {
      const run = runLocally({
        definition: DEFINITION,
        functionArns: ARNS,
        handlers: tracked,
        // the Map reads the plan with the state machine's role: not through the faulty proxy
        objects: s3ObjectStore(client),
        input: request,
        approve: async () => true,
        retryIntervalMs: 20,
        // Every handler as the role the stack deploys for these buckets.
        iam: await stackIam(request, { reports: { bucket: reports, prefix: "reports/" }, clients: [faulty] }),
      });
      const tooLong = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`a run took more than ${RUN_TIME_LIMIT_MS} ms`)), RUN_TIME_LIMIT_MS);
      });
      // runLocally resolves whatever happened: a rejection here is an exception that escaped.
      return await Promise.race([run, tooLong]);
    } finally {
      clearTimeout(timer);
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      faulty.destroy();
    }
  }

  function assertEndedCleanly(result: LocalRunResult, label: string): void {
    assert.ok(result.status === "SUCCEEDED" || result.status === "FAILED", `${label}: status ${result.status}`);
    if (result.status === "FAILED") {
      assert.ok(typeof result.error === "string" && result.error.length > 0, `${label}: a failed run names its error`);
      assert.ok(typeof result.cause === "string" && result.cause.length > 0, `${label}: ${result.error} has a cause`);
    }
    assert.ok(result.transitions > 0 && Number.isFinite(result.estimatedCostUsd.total), `${label}: measured`);
  }

  /** Keys of a bucket. */
  const keysOf = async (bucket: string) => new Set((await listKeys(client, bucket)).map((o) => o.key));

  const sourceKeys = new Set([...SOURCE_KEYS, "site/index.html", "site/empty"]);

  /**
   * After any run: every source key the destination held before the run (`before`) it still
   * holds, and it holds nothing but source keys and (unless `extrasMayGo`) every extra.
   * Returns the keys now present.
   */
  async function assertNothingLost(destination: string, before: Set<string>, extrasMayGo: boolean, label: string): Promise<Set<string>> {
    const present = await keysOf(destination);
    for (const key of before) if (sourceKeys.has(key)) assert.ok(present.has(key), `${label}: ${key} was deleted`);
    const allowed = new Set([...sourceKeys, ...EXTRA_KEYS]);
    for (const key of present) assert.ok(allowed.has(key), `${label}: unexpected key ${key}`);
    if (!extrasMayGo) for (const key of EXTRA_KEYS) assert.ok(present.has(key), `${label}: backup deleted ${key}`);
    // Keep-files are untouched (a re-copy would have the same content; either way they are intact).
    const snapshot = await fingerprints(client, { bucket: destination });
    const expected = await fingerprints(client, { bucket: source });
    for (const key of KEEP_KEYS) assert.equal(snapshot.get(key), expected.get(key), `${label}: ${key} changed`);
    return present;
  }

  /** Runs at falling fault rates until a run succeeds without faults; returns every outcome. */
  async function converge(
    request: SyncRequest,
    destination: string,
    schedule: Array<{ rates: FaultRates; maxAttempts?: number }>,
  ): Promise<Array<{ status: string; error?: string }>> {
    const outcomes: Array<{ status: string; error?: string }> = [];
    let present = await keysOf(destination);
    for (const [index, step] of [...schedule, { rates: {} }].entries()) {
      assert.ok(index < MAX_RUNS, `no convergence within ${MAX_RUNS} runs: ${JSON.stringify(outcomes)}`);
      proxy?.setRates(step.rates);
      const label = `run ${index + 1} at ${JSON.stringify(step.rates)}`;
      const result = await runThroughProxy(request, step.maxAttempts);
      assertEndedCleanly(result, label);
      outcomes.push({ status: result.status, ...(result.error ? { error: result.error } : {}) });
      present = await assertNothingLost(destination, present, request.mode === "mirror", label);
    }
    assert.equal(outcomes.at(-1)?.status, "SUCCEEDED", `the fault-free run: ${JSON.stringify(outcomes)}`);
    return outcomes;
  }

  const profiles: Array<{ name: string; seed: number; rates: FaultRates; maxAttempts?: number }> = [
    { name: "503 SlowDown", seed: 1, rates: { slowDown: 0.08 }, maxAttempts: 1 },
    { name: "500 InternalError", seed: 2, rates: { internalError: 0.3 }, maxAttempts: 2 },
    { name: "connections dropped before the server acts", seed: 3, rates: { dropBefore: 0.25 }, maxAttempts: 2 },
    { name: "connections dropped after the server acted", seed: 4, rates: { dropAfter: 0.25 }, maxAttempts: 2 },
  ];
  for (const profile of profiles) {
    it(`backup with ${profile.name}: each run ends cleanly, nothing is lost, and re-runs converge`, async () => {
      const destination = await seededDestination();
      proxy = await startFaultProxy({ upstream: s3.endpoint, seed: profile.seed });
      const request: SyncRequest = { source: { bucket: source }, destination: { bucket: destination }, partitions: 4, minKeysPerPartition: 1 };
      const half = Object.fromEntries(Object.entries(profile.rates).map(([kind, rate]) => [kind, (rate ?? 0) / 2]));
      const outcomes = await converge(request, destination, [
        { rates: profile.rates, maxAttempts: profile.maxAttempts },
        { rates: half, maxAttempts: profile.maxAttempts },
      ]);
      const kind = Object.keys(profile.rates)[0] as keyof typeof proxy.stats.faults;
      assert.ok(proxy.stats.faults[kind] > 0, `faults were injected: ${JSON.stringify(proxy.stats)}`);
      assert.ok(outcomes.length <= 3, JSON.stringify(outcomes));
      const destinationState = await fingerprints(client, { bucket: destination });
      for (const key of EXTRA_KEYS) destinationState.delete(key);
      assert.deepEqual(destinationState, await fingerprints(client, { bucket: source }), "converged, extras kept");
    });
  }

  it("with the default client, the SDK's own retries absorb a mix of 10% faults and the run succeeds", async () => {
    const destination = await seededDestination();
    proxy = await startFaultProxy({
      upstream: s3.endpoint,
      seed: 5,
      rates: { slowDown: 0.025, internalError: 0.025, dropBefore: 0.025, dropAfter: 0.025 },
    });
    const result = await runThroughProxy({ source: { bucket: source }, destination: { bucket: destination }, partitions: 4, minKeysPerPartition: 1 });
    assertEndedCleanly(result, "mixed faults");
    assert.ok(proxy.faultCount() > 0, JSON.stringify(proxy.stats));
    assert.equal(result.status, "SUCCEEDED", `${result.error}: ${result.cause} after ${JSON.stringify(proxy.stats)}`);
    const state = await fingerprints(client, { bucket: destination });
    for (const key of EXTRA_KEYS) state.delete(key);
    assert.deepEqual(state, await fingerprints(client, { bucket: source }));
  });

  it("mirror under heavy mixed faults deletes only the extras, and converges once the faults ease", async () => {
    const destination = await seededDestination();
    proxy = await startFaultProxy({ upstream: s3.endpoint, seed: 6 });
    const request: SyncRequest = {
      source: { bucket: source },
      destination: { bucket: destination },
      mode: "mirror",
      maxDeletes: EXTRA_KEYS.length,
      partitions: 4,
      minKeysPerPartition: 1,
    };
    // Little SlowDown: the client's adaptive retry mode answers the first one by cutting its own
    // request rate to a crawl for seconds, which is its job but not what this test is about.
    const mix = (share: number): FaultRates => ({
      slowDown: share * 0.05,
      internalError: share * 0.3,
      dropBefore: share * 0.325,
      dropAfter: share * 0.325,
    });
    const outcomes = await converge(request, destination, [
      { rates: mix(0.4), maxAttempts: 2 },
      { rates: mix(0.2), maxAttempts: 2 },
      { rates: mix(0.1), maxAttempts: 3 },
    ]);
    assert.ok(proxy.faultCount() >= 10, `faults were injected: ${JSON.stringify(proxy.stats)}`);
    assert.ok(outcomes.some((o) => o.status === "FAILED"), `heavy faults fail some run cleanly: ${JSON.stringify(outcomes)}`);
    await assertConverged(client, { bucket: source }, { bucket: destination }, "after the fault-free mirror");
  });
});
