/**
 * The delete budget across runs: besides each run's own limit (`maxDeletes`), at most
 * `maxDeletesPerDay` deletes over a rolling 24 hours, across every run and trigger of a stack. With
 * `mirror` and on-change syncs every delete event is a run of its own, each within its own limit;
 * the budget is what stops a recursive delete in the source from draining into the destination
 * one event at a time.
 *
 * The ledger is one JSON object in S3, updated only with conditional writes: If-None-Match: * to
 * create it, If-Match: <ETag read> to change it. Of two runs that read the same ledger and both
 * try to spend, S3 lets one write and answers the other 412 Precondition Failed; that one reads
 * again and decides against what the first spent ("Conditional writes",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html). A store that
 * refuses conditional writes (501 NotImplemented) fails the run: without them two runs could
 * spend the same budget, so the budget fails closed.
 *
 * The ledger also remembers the last full runs' listing counts: the share of the destination a
 * percentage budget is taken of, and the baseline of the source-shrink and empty-source checks.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { DeleteLimit, SyncJob, SyncSummary } from "../../model/contract";
import { deleteLimitOf, parseDeleteLimit } from "../../model/settings";

/** The rolling window of the budget. */
export const BUDGET_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Attempts at a conditional write before the run fails (each loses only to another run's write). */
export const LEDGER_ATTEMPTS = 20;

/** Where the ledger lives and what it allows. */
export interface DeleteBudget {
  bucket: string;
  key: string;
  /** At most this many deletes, or this share of the destination, per rolling 24 hours. */
  perDay: DeleteLimit;
}

/** One run's deletes, spent from the budget. */
export interface LedgerSpend {
  at: string;
  run: string;
  deletes: number;
}

/** What a full run (the whole key space of the stack's mapping) listed. */
export interface FullRunCounts {
  at: string;
  run: string;
  sourceObjects: number;
  destinationObjects: number;
}

export interface DeleteLedger {
  /** Spends of the last 24 hours (older ones are dropped on each write). */
  spends: LedgerSpend[];
  /** The latest full runs, newest last (at most two are kept). */
  fullRuns: FullRunCounts[];
}

/** What a reservation decided. */
export interface BudgetDecision {
  /** Whether the deletes fit the budget (and were recorded as spent). */
  allowed: boolean;
  /** The budget as a count, for the destination size known. */
  limit: number;
  /** Spent by earlier runs within the window, before this one. */
  spent: number;
  /** The full run before this one, if any (the baseline of the shrink checks). */
  previousFullRun?: FullRunCounts;
}

/** Deletes spent within the window ending at `now`. Pure. */
export function spentWithin(ledger: DeleteLedger, now: Date): number {
  const since = now.getTime() - BUDGET_WINDOW_MS;
  return ledger.spends.filter((s) => Date.parse(s.at) > since).reduce((sum, s) => sum + s.deletes, 0);
}

/**
 * The budget as a count: a count as it is; a share of the destination's objects as the latest full
 * run listed them (0 when no full run has been recorded: nothing is deleted without approval
 * until one has). Pure.
 */
export function budgetLimit(perDay: DeleteLimit, ledger: DeleteLedger): number {
  if ("count" in perDay) return perDay.count;
  const latest = ledger.fullRuns.at(-1);
  return latest === undefined ? 0 : deleteLimitOf(perDay, latest.destinationObjects);
}

/**
 * The ledger after a run: the run's spend (if any) added, its full-run counts (if any) appended,
 * spends outside the window dropped. Pure.
 */
export function nextLedger(ledger: DeleteLedger, now: Date, change: { spend?: LedgerSpend; fullRun?: FullRunCounts }): DeleteLedger {
  const since = now.getTime() - BUDGET_WINDOW_MS;
  return {
    spends: [...ledger.spends.filter((s) => Date.parse(s.at) > since), ...(change.spend ? [change.spend] : [])],
    fullRuns: [...ledger.fullRuns, ...(change.fullRun ? [change.fullRun] : [])].slice(-2),
  };
}

const EMPTY: DeleteLedger = { spends: [], fullRuns: [] };

async function readLedger(client: S3Client, budget: DeleteBudget): Promise<{ ledger: DeleteLedger; etag?: string }> {
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: budget.bucket, Key: budget.key }));
    const text = await (object.Body as { transformToString(): Promise<string> }).transformToString();
    const parsed = JSON.parse(text) as Partial<DeleteLedger>;
    return { ledger: { spends: parsed.spends ?? [], fullRuns: parsed.fullRuns ?? [] }, etag: object.ETag };
  } catch (err) {
    if ((err as { name?: string }).name === "NoSuchKey" || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) {
      return { ledger: EMPTY };
    }
    throw err;
  }
}

/** Another run wrote first (412), or the ledger vanished or appeared in between (404, 409): read again. */
function lostRace(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === 412 || status === 409 || status === 404;
}

/**
 * Reads the ledger, decides, and writes the decision conditionally, again until no other run wrote
 * in between. `decide` returns the change to record (nothing: no write) and the caller's answer.
 */
async function update<T>(
  client: S3Client,
  budget: DeleteBudget,
  decide: (ledger: DeleteLedger) => { change?: { spend?: LedgerSpend; fullRun?: FullRunCounts }; answer: T },
  now: () => Date,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const { ledger, etag } = await readLedger(client, budget);
    const { change, answer } = decide(ledger);
    if (change === undefined || (change.spend === undefined && change.fullRun === undefined)) return answer;
    try {
      await client.send(
        new PutObjectCommand({
          Bucket: budget.bucket,
          Key: budget.key,
          Body: JSON.stringify(nextLedger(ledger, now(), change)),
          ContentType: "application/json",
          ...(etag === undefined ? { IfNoneMatch: "*" } : { IfMatch: etag }),
        }),
      );
      return answer;
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 501 || (err as { name?: string }).name === "NotImplemented") {
        throw new Error(
          `the delete ledger s3://${budget.bucket}/${budget.key} cannot be written conditionally (the store refuses If-Match/If-None-Match on PutObject): ` +
            "without that two runs could spend the same daily delete budget, so nothing is deleted",
        );
      }
      if (!lostRace(err) || attempt >= LEDGER_ATTEMPTS) throw err;
    }
  }
}

/**
 * Spends `deletes` from the budget if they fit, atomically against every other run; records the
 * run's listing counts when it is a full run. Deletes that do not fit are not recorded: they wait
 * for approval, and are recorded once made (`recordDeletes`).
 */
export async function reserveDeletes(
  client: S3Client,
  budget: DeleteBudget,
  request: { run: string; deletes: number; fullRun?: Omit<FullRunCounts, "at" | "run"> },
  now: () => Date = () => new Date(),
): Promise<BudgetDecision> {
  return update(
    client,
    budget,
    (ledger) => {
      const at = now();
      const fullRun = request.fullRun && { at: at.toISOString(), run: request.run, ...request.fullRun };
      const previousFullRun = ledger.fullRuns.at(-1);
      // A full run's own listing is the newest size of the destination.
      const limit = budgetLimit(budget.perDay, fullRun ? { ...ledger, fullRuns: [...ledger.fullRuns, fullRun] } : ledger);
      const spent = spentWithin(ledger, at);
      const allowed = request.deletes === 0 || spent + request.deletes <= limit;
      const spend = allowed && request.deletes > 0 ? { at: at.toISOString(), run: request.run, deletes: request.deletes } : undefined;
      return { change: { spend, fullRun }, answer: { allowed, limit, spent, previousFullRun } };
    },
    now,
  );
}

/** Records deletes a person approved above the budget: they count against the next runs' budget. */
export async function recordDeletes(
  client: S3Client,
  budget: DeleteBudget,
  spend: { run: string; deletes: number },
  now: () => Date = () => new Date(),
): Promise<void> {
  if (spend.deletes === 0) return;
  await update(client, budget, () => ({ change: { spend: { at: now().toISOString(), ...spend } }, answer: undefined }), now);
}

/**
 * The budget as the program configures it (HANDLER_ENV.deleteBudget): the ledger's location, the
 * daily budget as written (`"10%"`, `500`), and the stack's source prefix, which tells a full run
 * from a narrowed one.
 */
export interface DeleteBudgetConfig {
  bucket: string;
  key: string;
  perDay: string | number;
  sourcePrefix: string;
}

/** The configuration, checked; a value that is not one fails the cold start (fail closed). */
export function parseDeleteBudgetConfig(value: unknown, name: string): DeleteBudgetConfig {
  const c = value as Partial<DeleteBudgetConfig> | null;
  if (
    typeof c?.bucket !== "string" ||
    typeof c.key !== "string" ||
    typeof c.sourcePrefix !== "string" ||
    parseDeleteLimit(c.perDay) === undefined
  ) {
    throw new Error(`${name} must be { "bucket", "key", "perDay" (a count or a share), "sourcePrefix" }`);
  }
  return c as DeleteBudgetConfig;
}

/** Whether a job lists the stack's whole mapping. */
export function isFullRun(job: SyncJob, config: DeleteBudgetConfig): boolean {
  return job.keys === undefined && job.startAfter === undefined && job.source.prefix === config.sourcePrefix;
}

/**
 * Applies the budget to a phase's summary. After the copy phase: a run's planned deletes within
 * its own limit are spent from the budget, or, if they do not fit, sent for approval; a full run's
 * listing counts are recorded. After an approved delete phase: the deletes made are recorded.
 */
export async function applyDeleteBudget(
  client: S3Client,
  config: DeleteBudgetConfig,
  summary: SyncSummary,
  context: { run: string; previous?: SyncSummary },
  now: () => Date = () => new Date(),
): Promise<SyncSummary> {
  const budget: DeleteBudget = { bucket: config.bucket, key: config.key, perDay: parseDeleteLimit(config.perDay)! };
  if (summary.phase === "delete") {
    if (summary.deleteDecision === "over-limit" && !summary.job.dryRun) {
      const made = summary.stats.deleted - (context.previous?.stats.deleted ?? 0);
      await recordDeletes(client, budget, { run: context.run, deletes: made }, now);
    }
    // The run's budget and history, as the copy phase found them, stay with its final summary.
    const { dailyDeleteBudget, history } = context.previous ?? {};
    return { ...summary, ...(dailyDeleteBudget ? { dailyDeleteBudget } : {}), ...(history ? { history } : {}) };
  }
  const fullRun = isFullRun(summary.job, config);
  const deletes = summary.deleteDecision === "within-limit" ? summary.plannedDeletes : 0;
  if (!fullRun && deletes === 0) return { ...summary, history: { fullRun } };
  const decision = await reserveDeletes(
    client,
    budget,
    {
      run: context.run,
      deletes,
      fullRun: fullRun ? { sourceObjects: summary.stats.sourceObjects, destinationObjects: summary.stats.destinationObjects } : undefined,
    },
    now,
  );
  const history = { fullRun, previousSourceObjects: decision.previousFullRun?.sourceObjects };
  if (deletes === 0) return { ...summary, history };
  const dailyDeleteBudget = { limit: decision.limit, spent: decision.spent };
  if (decision.allowed) return { ...summary, history, dailyDeleteBudget };
  return {
    ...summary,
    history,
    dailyDeleteBudget,
    deleteDecision: "over-limit",
    deleteLimit: Math.max(0, Math.min(summary.deleteLimit, decision.limit - decision.spent)),
  };
}
