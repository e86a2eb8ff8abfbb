using System.Globalization;
using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Fulfilment;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Requests;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Core.Processing;

public enum ProcessStatus
{
    /// <summary>A round finished: the outcome is on the ticket.</summary>
    Completed,

    /// <summary>Nothing to do: a duplicate, a closed ticket, a ticket that does not exist.</summary>
    Skipped,

    /// <summary>The ITSM's approval flow is still running (or a joiner's account is not there yet).</summary>
    Waiting,

    /// <summary>Another worker holds the ticket (or the person); re-queued shortly.</summary>
    Deferred,

    /// <summary>Decided, due later (future-dated leaver or start date).</summary>
    Scheduled,
}

public sealed record ProcessResult(ProcessStatus Status, string Detail, Outcome? Outcome = null, string? Rule = null);

/// <summary>
/// Processes one ticket: takes the ticket's lease, reads the ticket authoritatively, works out which round of
/// inputs this is, decides, acts in the directory (skipping steps already done), writes back once (checking the
/// ticket first when an earlier write-back's response was lost) and records each step in the audit trail.
/// Every host calls exactly this.
/// </summary>
public sealed class TicketProcessor
{
    private readonly ITicketSystems _systems;
    private readonly IDirectory _directory;
    private readonly ITicketStore _store;
    private readonly IWorkQueue _queue;
    private readonly ICounterStore _counters;
    private readonly IGrantRegistry _grants;
    private readonly IPersonLedger _persons;
    private readonly IPolicyProvider _policies;
    private readonly ContextBuilder _contextBuilder;
    private readonly ProcessingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<TicketProcessor> _logger;

    public TicketProcessor(
        ITicketSystems systems,
        IDirectory directory,
        ITicketStore store,
        IWorkQueue queue,
        ICounterStore counters,
        IGrantRegistry grants,
        IPersonLedger persons,
        IPolicyProvider policies,
        ContextBuilder contextBuilder,
        ProcessingOptions options,
        TimeProvider time,
        ILogger<TicketProcessor> logger)
    {
        _systems = systems;
        _directory = directory;
        _store = store;
        _queue = queue;
        _counters = counters;
        _grants = grants;
        _persons = persons;
        _policies = policies;
        _contextBuilder = contextBuilder;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>Longest visibility delay a storage queue accepts is 7 days; longer waits hop.</summary>
    private static readonly TimeSpan MaxQueueDelay = TimeSpan.FromDays(6.9);

    /// <summary>The work item reason of a scheduled action's wake-up.</summary>
    private const string ScheduledReason = "scheduled";

    /// <summary>The work item reason of a webhook delivery (<see cref="WorkItem.Reason"/>'s default).</summary>
    private const string WebhookReason = "webhook";

    /// <summary>
    /// The queue delay for work due at <paramref name="due"/>: whole seconds, rounded up (queues count whole seconds
    /// and would otherwise deliver it early), at most <see cref="MaxQueueDelay"/> (a longer wait hops).
    /// </summary>
    private static TimeSpan DelayUntil(DateTimeOffset due, DateTimeOffset now)
    {
        var delay = TimeSpan.FromSeconds(Math.Ceiling(Math.Max(0, (due - now).TotalSeconds)));
        return delay > MaxQueueDelay ? MaxQueueDelay : delay;
    }

    /// <summary>
    /// Starts reading a fresh webhook's ticket, and observing its state row, before its work item is durably queued,
    /// so both overlap the enqueue; pass it to <see cref="ProcessAsync(WorkItem, TicketReadAhead?, CancellationToken)"/>.
    /// </summary>
    /// <returns>Null when the read cannot even start (e.g. no connector for the system): the run then meets that itself.</returns>
    public TicketReadAhead? StartReading(WorkItem item)
    {
        try
        {
            return new(item, ct => _contextBuilder.Lookups(item.System, ct),
                (lookups, observed, ct) => _systems.For(item.System).ReadAsync(item.TicketKey, lookups.Prefetch(observed), ct),
                ct => _store.GetAsync(item.Ticket, ct));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return null;
        }
    }

    public Task<ProcessResult> ProcessAsync(WorkItem item, CancellationToken cancellationToken) => ProcessAsync(item, null, cancellationToken);

    /// <param name="ahead">The ticket read intake started for this item, if any (used only for a fresh webhook).</param>
    public async Task<ProcessResult> ProcessAsync(WorkItem item, TicketReadAhead? ahead, CancellationToken cancellationToken)
    {
        var holder = _options.NewLeaseHolder();
        var fresh = item.Attempt == 0 && item.Reason == WebhookReason;
        var readAhead = fresh && ahead is not null && ahead.TakeFor(item, cancellationToken);
        using var _ = ahead;
        var lookups = readAhead ? ahead!.Lookups : _contextBuilder.Lookups(item.System, cancellationToken);

        // The ticket is read while its lease is taken, so the read does not wait for it. That read counts only if no
        // earlier run of this service can have written back to the ticket after the read started. Every run records
        // its write-back in the state row before it lets go of the ticket, and the lease is taken by a write
        // conditional on the row exactly as observed, so the read counts when it started after that observation, or
        // when the observed row was last written well before the read started (no row at all: no run ever wrote back).
        // A fresh webhook's read starts even before the observation, or with it when intake handed the item over (then
        // both start before the item is queued): that is the latency a requester waits for.
        // Retries and other queued work observe first, so a ticket just written is not read twice.
        var readStarted = readAhead ? ahead!.Started : TimeProvider.System.GetUtcNow(); // compared with the store's clock, not business time
        // The read may be complete before the observation is started: its prefetch waits for the observation then.
        var observation = new TaskCompletionSource<Task<TicketState?>>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<TicketState?>? Observing() => observation.Task.Unwrap();
        var early = readAhead ? ahead!.Read : fresh ? _systems.For(item.System).ReadAsync(item.TicketKey, lookups.Prefetch(Observing), cancellationToken) : null;
        LeaseAttempt lease;
        try
        {
            var observing = readAhead ? ahead!.Observed : _store.GetAsync(item.Ticket, cancellationToken);
            observation.SetResult(observing);
            var observed = await observing;
            if (observed is { LeaseOwner: { } other } && other != holder && observed.LeaseUntil > _time.GetUtcNow())
            {
                lease = new LeaseAttempt(null, observed.LeaseUntil);
            }
            else
            {
                var leasing = _store.TryAcquireObservedAsync(item.Ticket, observed, holder, _options.LeaseDuration, cancellationToken);
                var readCounts = early is null || WrittenBefore(observed, readStarted);
                early ??= _systems.For(item.System).ReadAsync(item.TicketKey, lookups.Prefetch(Observing), cancellationToken);
                lease = await leasing;
                if (!lease.Acquired && lease.BusyUntil is null)
                {
                    // The row changed after it was observed, so maybe during the read: take the lease on the new row.
                    readCounts = false;
                    lease = await _store.TryAcquireAsync(item.Ticket, holder, _options.LeaseDuration, cancellationToken);
                }

                if (lease.Acquired && !readCounts)
                {
                    // The directory reads that read started go with it: the run reads again, from the directory as
                    // it is under the lease.
                    Discard(early);
                    early = null;
                    lookups = _contextBuilder.Lookups(item.System, cancellationToken);
                }
            }
        }
        catch
        {
            Discard(early);
            throw;
        }

        if (!lease.Acquired)
        {
            Discard(early);
            return await DeferAsync(item, "the ticket is being processed by another worker", cancellationToken);
        }

        var run = new Run(this, item, lease.State!, holder, cancellationToken) { EarlyRead = early, Lookups = lookups };
        try
        {
            return await run.ExecuteAsync();
        }
        catch (Exception ex) when (ex is not LeaseLostException)
        {
            await run.ReleaseAfterFailureAsync(ex);
            throw;
        }
    }

    /// <summary>
    /// The last attempt failed too: escalate the ticket with the failure explained instead of letting the work
    /// item vanish into a poison _queue.
    /// </summary>
    public async Task EscalateFailureAsync(WorkItem item, Exception failure, int attempts, CancellationToken cancellationToken)
    {
        var lease = await _store.TryAcquireAsync(item.Ticket, _options.NewLeaseHolder(), _options.LeaseDuration, cancellationToken);
        var state = lease.State ?? throw new InvalidOperationException($"Ticket {item.Ticket} is held by another worker; the failure escalation is retried.");
        var system = _systems.For(item.System);
        var snapshot = await system.ReadAsync(item.TicketKey, cancellationToken);
        var buffer = new AuditBuffer(item.Ticket, _time);
        buffer.Reset(state);
        buffer.Round = state.Round;
        var policy = _policies.Current;
        var what = Describe(failure);
        var done = state.StepsDone.Count == 0 ? "nothing" : string.Join(", ", state.StepsDone);
        var note = $"ESCALATION — needs a person (queue: {QueueKinds.OnCall})\n" +
                   $"Why (rule {Rules.ProcessingFailure}): the service could not complete this request after {attempts} attempt(s).\n" +
                   $"Last failure: {what}\n" +
                   $"Directory steps already done (recorded): {done}.\n" +
                   $"Nothing else was changed. Check the failing system, then update the ticket (or reassign it) to let the service try again, or complete it by hand.\n" +
                   $"Ticket: {snapshot.Number}{(snapshot.Url is null ? "" : " " + snapshot.Url)}\nPolicy {policy.Version}, round {state.Round ?? "(none)"}.";
        var marker = Marker(state.Round ?? Fingerprint.RoundId(snapshot, state.Reopened), "failure");
        var writeBack = new WriteBack
        {
            Outcome = Outcome.Escalated,
            CustomerComment = $"Request {snapshot.Number} could not be completed automatically because a system it depends on is failing. A person in the IAM team will finish it; you do not need to do anything now.",
            InternalNote = note,
            Marker = marker,
            Queue = policy.QueueFor(QueueKinds.OnCall),
        };
        buffer.Add(AuditKinds.Failure, ("failure", what), ("attempts", attempts.ToString(CultureInfo.InvariantCulture)));

        // An earlier escalation of this round may have been sent already (its answer lost, or the run died after it).
        var sentBefore = state.Phase == RoundPhase.WritingBack && state.WriteBackMarker == marker;
        state = await SaveAsync(buffer, state with { Phase = RoundPhase.WritingBack, WriteBackMarker = marker }, cancellationToken);
        var receipt = sentBefore && await system.ShowsMarkerAsync(snapshot, marker, cancellationToken)
            ? new WriteBackReceipt(snapshot.RawState)
            : await system.WriteBackAsync(snapshot, writeBack with { Resume = sentBefore }, cancellationToken);
        buffer.Add(AuditKinds.WriteBack, ("outcome", nameof(Outcome.Escalated)), ("rule", Rules.ProcessingFailure), ("state", receipt.StateWritten), ("marker", marker));
        buffer.Add(AuditKinds.RoundCompleted, ("outcome", nameof(Outcome.Escalated)), ("rule", Rules.ProcessingFailure));
        await SaveAsync(buffer, state with
        {
            Phase = RoundPhase.Completed,
            Outcome = Outcome.Escalated,
            Rule = Rules.ProcessingFailure,
            WrittenState = receipt.StateWritten,
            LeaseOwner = null,
            LeaseUntil = null,
        }, cancellationToken);
        ProcessingLog.EscalatedAfterFailures(_logger, item.Ticket, attempts, what);
    }

    /// <summary>A failure in words for notes and logs: system, status, request id — never a response body.</summary>
    public static string Describe(Exception failure) => failure switch
    {
        ConnectorException c => c.Message,
        TimeoutException t => t.Message,
        _ => $"{failure.GetType().Name}: {failure.Message}",
    };

    private async Task<ProcessResult> DeferAsync(WorkItem item, string why, CancellationToken cancellationToken)
    {
#pragma warning disable CA5394 // jitter spreads the retries of concurrent duplicates; not security
        var delay = TimeSpan.FromMilliseconds(500 + Random.Shared.Next(0, 1500));
#pragma warning restore CA5394
        await _queue.EnqueueAsync(item with { Reason = "deferred" }, delay, cancellationToken);
        ProcessingLog.LeaseBusy(_logger, item.Ticket, delay.TotalMilliseconds);
        return new ProcessResult(ProcessStatus.Deferred, why);
    }

    private Task<TicketState> SaveAsync(AuditBuffer buffer, TicketState state, CancellationToken cancellationToken) =>
        buffer.SaveAsync(_store, state, cancellationToken);

    private static string Marker(string round, string kind) => $"[iamf:{round}:{kind}]";

    /// <summary>
    /// How much earlier than a read's start the state row must have been written for the read to count: the row's
    /// time is the store's clock and the read's start this machine's, so the margin absorbs the skew between them.
    /// </summary>
    private static readonly TimeSpan ClockSkewMargin = TimeSpan.FromSeconds(15);

    /// <summary>True when no run's write-back can have reached the ticket after <paramref name="readStarted"/>.</summary>
    private static bool WrittenBefore(TicketState? observed, DateTimeOffset readStarted) =>
        observed is null || (observed.LastWrittenAt is { } written && written < readStarted - ClockSkewMargin);

    /// <summary>A read that is not used: its failure, if any, is observed and dropped.</summary>
    private static void Discard(Task? read) => read.ObserveFailure();

    /// <summary>One processing run of one ticket under its lease.</summary>
    private sealed class Run(TicketProcessor p, WorkItem item, TicketState leased, string holder, CancellationToken ct)
    {
        private readonly AuditBuffer _buffer = new(item.Ticket, p._time);
        private TicketState _state = leased;

        /// <summary>The marker of a write-back an earlier run sent without recording its answer (it may have landed in part).</summary>
        private readonly string? _unconfirmedMarker = leased.Phase == RoundPhase.WritingBack ? leased.WriteBackMarker : null;

        /// <summary>The outcome and rule that earlier write-back carried.</summary>
        private readonly (Outcome? Outcome, string? Rule) _unconfirmedOutcome = (leased.Outcome, leased.Rule);

        /// <summary>The marker this run recorded as about to be written back while the last stages ran, if any.</summary>
        private string? _recordedMarker;

        /// <summary>This run's record of the write-back is saved or on its way (see <see cref="RecordWritingBackAsync"/>).</summary>
        private bool _recording;

        /// <summary>The target's lock while this run holds it.</summary>
        private PersonLock? _personLock;

        /// <summary>The ticket read started while the lease was taken (valid under it), if any.</summary>
        public Task<TicketSnapshot>? EarlyRead { get; init; }

        public DirectoryLookups? Lookups { get; init; }

        public async Task<ProcessResult> ExecuteAsync()
        {
            _buffer.Reset(_state);
            var system = p._systems.For(item.System);
            var lookups = Lookups ?? p._contextBuilder.Lookups(item.System, ct);
            TicketSnapshot snapshot;
            try
            {
                snapshot = await (EarlyRead ?? system.ReadAsync(item.TicketKey, lookups.Prefetch(() => Task.FromResult<TicketState?>(_state)), ct));
            }
            catch (TicketNotFoundException)
            {
                ProcessingLog.NotFound(p._logger, item.Ticket, item.System);
                _buffer.Add(AuditKinds.Skipped, ("reason", "ticket not found"), ("delivery", item.DeliveryId));
                await SaveReleasedAsync();
                return new ProcessResult(ProcessStatus.Skipped, "ticket not found");
            }

            // A write-back was sent but its answer never came: look before writing again.
            if (_state.Phase == RoundPhase.WritingBack && _state.WriteBackMarker is { } marker && await system.ShowsMarkerAsync(snapshot, marker, ct))
            {
                _buffer.Round = _state.Round;
                RecordStepsProvenByWriteBack(marker);
                _buffer.Add(AuditKinds.WriteBackRecovered, ("marker", marker), ("state", snapshot.RawState));
                _buffer.Add(AuditKinds.RoundCompleted, ("outcome", _state.Outcome?.ToString()), ("rule", _state.Rule));
                ProcessingLog.WriteBackRecovered(p._logger, item.Ticket, _state.Round ?? "");
                _state = _state with { Phase = RoundPhase.Completed, WrittenState = snapshot.RawState, StepsInFlight = [] };
                await SaveReleasedAsync();
                return new ProcessResult(ProcessStatus.Completed, "write-back had already reached the ticket", _state.Outcome, _state.Rule);
            }

            // Steps an earlier run left in flight are not this run's: it records its own.
            _state = _state with { StepsInFlight = [] };

            // Closed, unless by this service's own write-back that broke off half-way (the transition landed, the
            // note did not): then the round is finished, not skipped, or the ticket would never show the rest. A
            // recorded write-back may also have sent nothing at all (the record is saved before the last changes), so
            // the ticket must show that the service's own transition closed it.
            if (snapshot.Status == TicketStatus.Closed && (_unconfirmedMarker is null || !system.ClosedByOwnWriteBack(snapshot)))
            {
                return await SkipAsync($"the ticket is closed (state {snapshot.RawState})");
            }

            var (round, reopened, moved) = _state.RoundOf(snapshot);
            var reopenCount = _state.Reopened + (reopened || moved ? 1 : 0);
            var now = p._time.GetUtcNow();
            if (round == _state.Round)
            {
                if (_state.Phase == RoundPhase.Completed)
                {
                    return await SkipAsync("nothing changed since the last decision (duplicate delivery)");
                }

                if (_state.Phase == RoundPhase.Scheduled && _state.ScheduledFor is { } due && due > now)
                {
                    if (item.Reason == ScheduledReason)
                    {
                        // The wake-up itself came early: a storage queue hides a message for at most seven days and
                        // counts the delay in whole seconds. Sleep again for what is left, or the work is lost.
                        await p._queue.EnqueueAsync(item with { DeliveryId = null, Attempt = 0 }, DelayUntil(due, now), ct);
                        return await SkipAsync($"scheduled for {due:O}: woke early, queued again");
                    }

                    return await SkipAsync($"already scheduled for {due:O}");
                }
            }
            else
            {
                _state = _state with
                {
                    Round = round,
                    Phase = RoundPhase.Idle,
                    Outcome = null,
                    Rule = null,
                    StepsDone = [],
                    StepsInFlight = [],
                    WriteBackMarker = null,
                    ScheduledFor = null,
                    Failures = 0,
                    Reopened = reopenCount,
                    RoundStartedAt = item.ReceivedAt ?? now,
                    Number = snapshot.Number,
                };
            }

            _buffer.Round = round;
            _buffer.Add(AuditKinds.ProcessingStarted, ("delivery", item.DeliveryId), ("reason", item.Reason),
                ("attempt", item.Attempt.ToString(CultureInfo.InvariantCulture)), ("reopened", reopened || moved ? "true" : null));
            _buffer.Add(AuditKinds.TicketRead, ("number", snapshot.Number), ("state", snapshot.RawState), ("status", snapshot.Status.ToString()),
                ("approvals", string.Join("; ", snapshot.Approvals.Select(a => $"{a.Approver.ItsmId}={a.State}@{a.DecidedAt:O}{(a.Scope == ApprovalScope.ParentRequest ? "[parent]" : "")}"))),
                ("lastMaterialChange", snapshot.LastMaterialChange?.ToString("O", CultureInfo.InvariantCulture)));

            var policy = p._policies.Current;
            if (p._options.DryRun && !policy.DryRun)
            {
                policy = policy with { DryRun = true };
            }

            var request = RequestReader.Read(snapshot, policy.Leaver.DefaultTimeZone);
            var waited = _state.RoundStartedAt is { } started ? now - started : (TimeSpan?)null;

            // The person's lock is taken while the target's memberships are read: it does not depend on them, and
            // the grants it carries are read in the same conditional write, so they are current under the lock.
            Task<PersonLock?>? locking = null;
            DecisionContext ctx;
            try
            {
                ctx = await p._contextBuilder.BuildAsync(snapshot, request, policy, now, waited, lookups, ct,
                    NeedsPersonLock(request, policy) ? targetId => locking = p._persons.TryLockAsync(targetId, holder, p._options.LeaseDuration, ct) : null);
            }
            catch
            {
                if (locking is { IsCompletedSuccessfully: true, Result: { } taken })
                {
                    await p._persons.ReleaseAsync(taken, CancellationToken.None);
                }

                throw;
            }

            _personLock = locking is null ? null : await locking;
            if (locking is not null)
            {
                if (_personLock is null)
                {
                    await SaveReleasedAsync();
                    return await p.DeferAsync(item, "another ticket for the same person is being decided", ct);
                }

                ctx = WithOwnGrants(ctx, _personLock.PersonId, _personLock.Granted);
            }

            try
            {
                return await DecideAndActAsync(system, snapshot, ctx, policy, round, now);
            }
            finally
            {
                // Unless the record of the person's grants released it already.
                if (_personLock is { } held)
                {
                    await p._persons.ReleaseAsync(held, CancellationToken.None);
                }
            }
        }

        private async Task<ProcessResult> DecideAndActAsync(ITicketSystem system, TicketSnapshot snapshot, DecisionContext ctx, PolicyDocument policy, string round, DateTimeOffset now)
        {
            var verdict = DecisionEngine.Decide(ctx);
            if (verdict.WaitingFor is { } waiting)
            {
                _buffer.Add(AuditKinds.Waiting, ("reason", waiting), ("policy", policy.Version));
                if (verdict.RetryIn is { } retry)
                {
                    await p._queue.EnqueueAsync(item with { Reason = "waiting", DeliveryId = null }, retry, ct);
                }

                _state = _state with { Phase = RoundPhase.Idle };
                await SaveReleasedAsync();
                ProcessingLog.Waiting(p._logger, item.Ticket, waiting);
                return new ProcessResult(ProcessStatus.Waiting, waiting);
            }

            var decision = verdict.Decision!;
            RecordDecision(ctx, decision);

            if (decision.ScheduledFor is { } due && due > now)
            {
                return await ScheduleAsync(system, snapshot, ctx, decision, round, due, now);
            }

            // When no step of the plan must be recorded before the next one, the write-back's record is saved while
            // the counters are written and the stages run: it only says a write-back may follow, and what it will carry.
            // The counters are sent first: the first change waits for them, and only the write-back for the record.
            var doneEarlier = _state.StepsDone.ToHashSet(StringComparer.Ordinal);
            var gates = ApplyGatesAsync(ctx, decision, round, now);
            var early = RepeatableThroughout(decision) && LeaseSafe
                ? RecordWritingBackAsync(decision, round, _state.StepsDone.ToHashSet(StringComparer.Ordinal), decision.Plan!.Operations)
                : null;
            try
            {
                decision = await gates;
            }
            catch
            {
                await AbandonRecordAsync(early);
                throw;
            }

            var executed = new List<ExecutedStep>();
            if (decision.Plan is { } plan && !decision.DryRun)
            {
                decision = await ExecuteAsync(plan, decision, executed, round, early);
            }
            else if (early is not null)
            {
                // The counters stopped the plan: the record no longer says what the write-back is; the save below does.
                try
                {
                    await early;
                }
                catch
                {
                    await AbandonRecordAsync(null);
                    throw;
                }
            }

            var (customer, note) = WriteBackComposer.Compose(ctx, decision, Told(decision, doneEarlier, executed), round);
            var marker = WriteBackMarker(round, decision);
            var writeBack = new WriteBack
            {
                Outcome = decision.Outcome,
                CustomerComment = customer,
                InternalNote = note,
                Marker = marker,
                Queue = decision.Outcome == Outcome.Escalated && !decision.DryRun ? policy.QueueFor(decision.QueueKind ?? QueueKinds.Iam) : null,
                ChangeState = !decision.DryRun,
                Resume = marker == _unconfirmedMarker,
            };

            // Recorded while the last stage ran, unless the stage changed what the write-back is, a step of it failed
            // (its steps would be taken for done by a recovery), or so much time went by that the lease must be proven
            // by a save before anything is written to the ticket.
            var recorded = _recordedMarker == marker && _state.Outcome == decision.Outcome && _state.Rule == decision.Rule
                           && executed.All(s => s.Result.Succeeded) && LeaseSafe;
            _state = _state with
            {
                Phase = RoundPhase.WritingBack,
                Outcome = decision.Outcome,
                Rule = decision.Rule,
                WriteBackMarker = marker,
                StepsDone = _state.StepsDone.Union(executed.Where(s => s.Result.Succeeded).Select(s => s.Operation.StepId)).ToList(),
                StepsInFlight = [],
            };
            if (!recorded)
            {
                _state = await p.SaveAsync(_buffer, _state, ct);
            }

            // Time-bound access is on record for its expiry before the ticket is told it is granted: a run that stops
            // after the write-back (which a retry then only recognises) must not leave it without an end.
            await RegisterExpiriesAsync(decision, executed);
            var bookkeeping = RecordGrantsAsync(ctx, decision, executed);
            WriteBackReceipt receipt;
            try
            {
                receipt = await system.WriteBackAsync(snapshot, writeBack, ct);
            }
            catch
            {
                // Awaited so the person's lock is not released twice at once; the write-back's failure is what is reported.
                await bookkeeping.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                throw;
            }

            await bookkeeping;
            _buffer.Add(AuditKinds.WriteBack, ("outcome", decision.Outcome.ToString()), ("dryRun", decision.DryRun ? "true" : null),
                ("state", receipt.StateWritten), ("queue", writeBack.Queue?.Id), ("marker", marker));
            var started = _state.RoundStartedAt ?? now;
            _buffer.Add(AuditKinds.RoundCompleted, ("outcome", decision.Outcome.ToString()), ("rule", decision.Rule),
                ("type", ctx.Request.Type?.ToString()), ("elapsedMs", ((long)(p._time.GetUtcNow() - started).TotalMilliseconds).ToString(CultureInfo.InvariantCulture)));
            _state = _state with { Phase = RoundPhase.Completed, WrittenState = receipt.StateWritten ?? _state.WrittenState };
            await SaveReleasedAsync();
            ProcessingLog.Decided(p._logger, item.Ticket, round, decision.Outcome, decision.Rule);
            return new ProcessResult(ProcessStatus.Completed, decision.Summary, decision.Outcome, decision.Rule);
        }

        private void RecordDecision(DecisionContext ctx, Decision decision)
        {
            _buffer.Add(AuditKinds.Request,
                ("type", ctx.Request.Type?.ToString() ?? ctx.Request.RawType),
                ("entitlements", ctx.Request.EntitlementIds.Count == 0 ? null : string.Join(",", ctx.Request.EntitlementIds)),
                ("targetId", ctx.Target?.User?.Id),
                ("targetUpn", ctx.Target?.User?.UserPrincipalName),
                ("requesterId", ctx.Requester?.User?.Id),
                ("requesterUpn", ctx.Requester?.User?.UserPrincipalName),
                ("endDate", ctx.Request.EndDate?.ToString("O", CultureInfo.InvariantCulture)),
                ("approvals", string.Join("\n", ctx.Ticket.Approvals.Select(a =>
                    $"{ctx.Match(a.Approver)?.User?.UserPrincipalName ?? a.Approver.Email ?? a.Approver.ItsmId}|{a.State}|{a.DecidedAt?.ToString("O", CultureInfo.InvariantCulture)}|{(a.ActedBy is { } by && by.ItsmId != a.Approver.ItsmId ? ctx.Match(by)?.User?.UserPrincipalName ?? by.ItsmId : "")}|{a.Scope}"))));
            _buffer.Add(AuditKinds.Checks,
                ("verified", string.Join("\n", decision.Verified)),
                ("notVerified", decision.NotVerified.Count == 0 ? null : string.Join("\n", decision.NotVerified)));
            _buffer.Add(AuditKinds.Decision,
                ("outcome", decision.Outcome.ToString()),
                ("rule", decision.Rule),
                ("summary", decision.Summary),
                ("problems", decision.Problems.Count == 0 ? null : string.Join("\n", decision.Problems)),
                ("reasons", decision.Reasons.Count == 0 ? null : string.Join("\n", decision.Reasons.Select(r => r.ToString()))),
                ("queue", decision.QueueKind),
                ("plan", decision.Plan is null ? null : string.Join("\n", decision.Plan.Operations.Select(o => o.StepId))),
                ("dryRun", decision.DryRun ? "true" : null),
                ("decidedBy", decision.DecidedBy),
                ("scheduledFor", decision.ScheduledFor?.ToString("O", CultureInfo.InvariantCulture)),
                ("policy", decision.PolicyVersion));
        }

        private async Task<ProcessResult> ScheduleAsync(ITicketSystem system, TicketSnapshot snapshot, DecisionContext ctx, Decision decision, string round, DateTimeOffset due, DateTimeOffset now)
        {
            await p._queue.EnqueueAsync(item with { Reason = ScheduledReason, DeliveryId = null, Attempt = 0 }, DelayUntil(due, now), ct);
            if (_state.Phase != RoundPhase.Scheduled)
            {
                var (customer, note) = WriteBackComposer.Compose(ctx, decision, [], round);
                var marker = Marker(round, "scheduled");
                _state = _state with { Phase = RoundPhase.Scheduled, ScheduledFor = due, WriteBackMarker = marker };
                _state = await p.SaveAsync(_buffer, _state, ct);
                await system.WriteBackAsync(snapshot, new WriteBack { Outcome = decision.Outcome, CustomerComment = customer, InternalNote = note, Marker = marker, ChangeState = false }, ct);
                _buffer.Add(AuditKinds.Scheduled, ("for", due.ToString("O", CultureInfo.InvariantCulture)), ("marker", marker));
            }

            _state = _state with { Phase = RoundPhase.Scheduled, ScheduledFor = due };
            await SaveReleasedAsync();
            ProcessingLog.Scheduled(p._logger, item.Ticket, due);
            return new ProcessResult(ProcessStatus.Scheduled, $"scheduled for {due:O}", decision.Outcome, decision.Rule);
        }

        /// <summary>
        /// Counts kept from the service's own records, serialised per key: repeated MFA resets of one person
        /// (suspected compromise) and the safety brake on destructive operations.
        /// </summary>
        private async Task<Decision> ApplyGatesAsync(DecisionContext ctx, Decision decision, string round, DateTimeOffset now)
        {
            if (decision.Plan is not { } plan || decision.DryRun)
            {
                return decision;
            }

            var policy = ctx.Policy;
            var occurrence = $"{item.Ticket.StorageKey}:{round}";

            // Every counter is recorded at once: each is its own atomic check-and-record, serialised per key, so no
            // limit can be overshot. When one refuses, the others may have counted work that will not happen (as a
            // counter checked before the refusing one always could): the brake errs towards stopping.
            var mfa = policy.MfaRecovery;
            var tap = plan.Operations.OfType<IssueTemporaryAccessPass>().FirstOrDefault();
            var mfaCount = tap is null
                ? null
                : p._counters.TryRecordAsync($"mfa-resets:{tap.UserId}", occurrence, 1, mfa.MaxResets, TimeSpan.FromDays(mfa.WindowDays), now, ct);

            var brake = policy.SafetyBrake;
            var window = TimeSpan.FromMinutes(brake.WindowMinutes);
            var brakes = new List<(DestructiveKind Kind, int Limit, int Weight, Task<CounterResult> Counted)>();
            foreach (var (kind, limit) in new[] { (DestructiveKind.Disable, brake.MaxDisables), (DestructiveKind.Removal, brake.MaxRemovals), (DestructiveKind.MfaReset, brake.MaxMfaResets) })
            {
                var weight = plan.Operations.Count(o => o.Destructive == kind && !_state.StepsDone.Contains(o.StepId));
                if (weight > 0)
                {
                    brakes.Add((kind, limit, weight, p._counters.TryRecordAsync($"brake:{kind}", $"{occurrence}:{kind}", weight, limit, window, now, ct)));
                }
            }

            await Task.WhenAll(brakes.Select(b => (Task)b.Counted).Append(mfaCount ?? Task.CompletedTask));

            if (mfaCount is not null && !mfaCount.Result.Recorded)
            {
                return Escalate(decision, Rules.MfaRepeated, QueueKinds.Soc,
                    $"{mfaCount.Result.CountInWindow} MFA resets for this person in the last {mfa.WindowDays} days (limit {mfa.MaxResets}): suspected account compromise. Nothing was changed.");
            }

            foreach (var (kind, limit, weight, task) in brakes)
            {
                var counted = task.Result;
                if (!counted.Recorded)
                {
                    ProcessingLog.BrakeEngaged(p._logger, kind.ToString(), item.Ticket, counted.CountInWindow, limit);
                    _buffer.Add(AuditKinds.BrakeEngaged, ("kind", kind.ToString()), ("count", counted.CountInWindow.ToString(CultureInfo.InvariantCulture)),
                        ("limit", limit.ToString(CultureInfo.InvariantCulture)), ("windowMinutes", brake.WindowMinutes.ToString(CultureInfo.InvariantCulture)));
                    return Escalate(decision, Rules.SafetyBrake, QueueKinds.OnCall,
                        $"Safety brake: {counted.CountInWindow} {kind.ToString().ToLowerInvariant()} operation(s) in the last {brake.WindowMinutes} minutes; this ticket needs {weight} more and the cap is {limit}. That kind of work is paused until a person looks. Nothing was changed.");
                }
            }

            return decision;
        }

        private Decision Escalate(Decision decision, string rule, string queueKind, string why)
        {
            _buffer.Add(AuditKinds.Decision, ("outcome", nameof(Outcome.Escalated)), ("rule", rule), ("summary", why), ("queue", queueKind), ("policy", decision.PolicyVersion));
            return decision with
            {
                Outcome = Outcome.Escalated,
                Rule = rule,
                Summary = why,
                QueueKind = queueKind,
                Plan = null,
                Reasons = [new Finding(rule, why), .. decision.Reasons],
            };
        }

        /// <param name="early">The write-back's record, started with the counters when every step is safe to repeat.</param>
        private async Task<Decision> ExecuteAsync(FulfilmentPlan plan, Decision decision, List<ExecutedStep> executed, string round, Task? early)
        {
            var executor = new PlanExecutor(p._directory, p._time);
            var done = _state.StepsDone.ToHashSet(StringComparer.Ordinal);
            var stopped = false;
            Task? checkpoint = null; // the previous stage's checkpoint, still being stored while this stage runs

            // The write-back's record once every step left is safe to repeat: stored while the remaining stages run,
            // awaited before the write-back. Nothing those stages do depends on it, and done again after a crash they
            // change nothing; only the write-back needs the marker on record. (A record queued behind a checkpoint sets
            // _recording only when it starts: test this, not that, while it is pending.)
            var record = early;

            // Results of the stages that run while the record is pending are added to the trail once it is stored: it
            // names their steps as in flight, which a run stopping after the write-back records as proven by it, and
            // a record that starts late would otherwise store them too (the trail would hold them twice).
            var unsaved = new List<ExecutedStep>();
            void Note(IEnumerable<ExecutedStep> steps)
            {
                if (record is null)
                {
                    RecordSteps(steps);
                }
                else
                {
                    unsaved.AddRange(steps);
                }
            }

            void Flush()
            {
                RecordSteps(unsaved);
                unsaved.Clear();
            }

            for (var i = 0; i < plan.Stages.Count && !stopped; i++)
            {
                var stage = plan.Stages[i];
                var last = i == plan.Stages.Count - 1;
                var unrepeatable = stage.Any(o => !o.SafeToRepeat && !done.Contains(o.StepId)); // done by an earlier run: skipped now

                // The write-back's record (its marker, so a crash after it is sent is recognised) is saved while the
                // last stage runs (or from the start, see above); the stages' results follow in the final save. A save
                // is also the lease check, so it overlaps the work only while plenty of the lease is left: no one else
                // can have taken it then.
                Task? recording = null;
                if (last && !_recording && record is null && LeaseSafe && checkpoint is null)
                {
                    // (With the previous stage's checkpoint still being stored, the record waits for the write-back.)
                    recording = RecordWritingBackAsync(decision, round, done, stage);
                }

                var before = executed.Count;
                List<DirectoryOperation> rest;
                try
                {
                    if (record is { IsCompleted: true } || (record is not null && !LeaseSafe))
                    {
                        // A record that has ended may have failed: then no further change is made. Once the lease is no
                        // longer safely ours, one still being stored must land (its save fails if the lease was lost).
                        var stored = record;
                        record = null;
                        await stored;
                        Flush();
                    }

                    if (i == 0 && !LeaseSafe && checkpoint is null)
                    {
                        // Half the lease went by since it was taken (the counters were slow, say), and no save since
                        // proves it is still this run's: one does before the first change (as between later stages).
                        await (record ?? Task.CompletedTask);
                        record = null;
                        Flush();
                        await CheckpointAsync(decision, done);
                    }

                    try
                    {
                        await executor.RunStageAsync(stage, done, executed, ct);
                    }
                    catch
                    {
                        Note(executed.Skip(before));
                        await AbandonRecordAsync(InFlight(recording ?? checkpoint, record)); // the stage's failure is what is reported, not the save's
                        Flush();
                        throw;
                    }

                    Note(executed.Skip(before));
                    stopped = executed.Skip(before).Any(s => !s.Result.Succeeded) && !plan.ContinueAfterFailure;
                    foreach (var step in executed.Skip(before).Where(s => s.Result.Succeeded))
                    {
                        done.Add(step.Operation.StepId);
                    }

                    rest = plan.Stages.Skip(i + 1).SelectMany(later => later).Where(o => !done.Contains(o.StepId)).ToList();
                    if (!last && unrepeatable && !stopped && !_recording && record is null && LeaseSafe && rest.All(o => o.SafeToRepeat))
                    {
                        // This stage is recorded with the write-back's record, saved after the checkpoint still being
                        // stored (saves of one row go one after the other) while the rest runs.
                        record = RecordAfterAsync(checkpoint, decision, round, done.ToHashSet(StringComparer.Ordinal), rest);
                        checkpoint = null;
                        continue;
                    }

                    await (recording ?? checkpoint ?? Task.CompletedTask);
                    checkpoint = null;
                }
                catch
                {
                    // What succeeded before the failure is done: the retry must not do it again (a second pass).
                    await AbandonRecordAsync(record);
                    Flush();
                    _state = _state with { StepsDone = done.Union(executed.Skip(before).Where(s => s.Result.Succeeded).Select(s => s.Operation.StepId)).ToList() };
                    await AbandonRecordAsync(null);
                    throw;
                }

                if (recording is not null)
                {
                    // The stage's results are in the audit buffer now: the next save records them.
                    _state = _state with { StepsInFlight = [] };
                }

                if (!last && (unrepeatable || !LeaseSafe))
                {
                    // Later stages depend on this one having happened: record it, unless doing it again after a crash
                    // changes nothing. The save is also the lease check: the next stage overlaps it only while plenty
                    // of the lease is left (a run that lost its lease must not make another change). A crash before it
                    // is stored leaves the same window either way (this stage done, not recorded); the next stage only
                    // shares it. An earlier record still being stored goes first (saves of one row go one at a time).
                    var overlap = !stopped && LeaseSafe;
                    Task save;
                    try
                    {
                        await (record ?? Task.CompletedTask);
                        record = null;
                        Flush();
                        save = !stopped && !_recording && LeaseSafe && rest.All(o => o.SafeToRepeat)
                            ? RecordWritingBackAsync(decision, round, done, rest) // what is left may be done again: this is also the write-back's record
                            : CheckpointAsync(decision, done);
                    }
                    catch
                    {
                        Flush();
                        _state = _state with { StepsDone = done.ToList() };
                        await AbandonRecordAsync(null);
                        throw;
                    }

                    if (overlap)
                    {
                        checkpoint = save;
                    }
                    else
                    {
                        try
                        {
                            await save;
                        }
                        catch
                        {
                            await AbandonRecordAsync(null);
                            throw;
                        }
                    }
                }
            }

            try
            {
                await (record ?? Task.CompletedTask);
            }
            catch
            {
                Flush();
                _state = _state with { StepsDone = done.ToList() };
                await AbandonRecordAsync(null);
                throw;
            }

            Flush();

            var failed = executed.Where(s => !s.Result.Succeeded).ToList();
            if (failed.Count == 0)
            {
                return decision;
            }

            var rule = !failed.All(f => f.Result.Status == ChangeStatus.NotPermitted) ? Rules.ProcessingFailure
                : plan.Request.Type == RequestType.Leaver ? Rules.LeaverNotPermitted
                : Rules.ChangeNotPermitted;
            var why = string.Join("; ", failed.Select(f => $"{f.Operation.Describe()}: {f.Result.Status} {f.Result.Detail}".Trim()));
            var reasons = decision.Reasons.Append(new Finding(rule, $"Not done: {why}.")).ToList();
            return decision with
            {
                Outcome = Outcome.Escalated,
                Rule = decision.Outcome == Outcome.Escalated ? decision.Rule : rule,
                Summary = decision.Outcome == Outcome.Escalated ? decision.Summary : $"Some directory changes could not be made: {why}.",
                QueueKind = decision.QueueKind ?? QueueKinds.Privileged,
                Reasons = reasons,
            };
        }

        /// <summary>
        /// True while at least half of the lease is left. Leases are taken only once expired and nothing else writes
        /// the row meanwhile, so until then the lease cannot have been lost and a save is not needed to prove it.
        /// </summary>
        private bool LeaseSafe => _state.LeaseUntil is { } until && until - p._time.GetUtcNow() > p._options.LeaseDuration / 2;

        /// <summary>Every step the plan has left is safe to repeat (so no checkpoint is due between its stages).</summary>
        private bool RepeatableThroughout(Decision decision) =>
            decision is { Plan: { } plan, DryRun: false }
            && plan.Operations.Any(o => !_state.StepsDone.Contains(o.StepId))
            && plan.Operations.All(o => o.SafeToRepeat || _state.StepsDone.Contains(o.StepId));

        /// <summary>
        /// The run fails after recording its write-back (or while the record is on its way): nothing was written back,
        /// so the retry must not take the round for a write-back that broke off.
        /// </summary>
        private async Task AbandonRecordAsync(Task? recording)
        {
            if (recording is not null)
            {
                try
                {
                    await recording;
                }
                catch
                {
                    // The run is failing anyway; its own failure is what is reported.
                }
            }

            if (_recording)
            {
                // Back to what the row said before this run's record: an earlier run's write-back keeps its own outcome.
                _state = _unconfirmedMarker is null
                    ? _state with { Phase = RoundPhase.Acting, WriteBackMarker = null, StepsInFlight = [] }
                    : _state with { Phase = RoundPhase.WritingBack, WriteBackMarker = _unconfirmedMarker, Outcome = _unconfirmedOutcome.Outcome, Rule = _unconfirmedOutcome.Rule, StepsInFlight = [] };
                (_recordedMarker, _recording) = (null, false);
            }
        }

        /// <summary>The write-back's record, saved once <paramref name="previous"/> (a checkpoint) is stored.</summary>
        private async Task RecordAfterAsync(Task? previous, Decision decision, string round, IReadOnlySet<string> done, IReadOnlyList<DirectoryOperation> rest)
        {
            await (previous ?? Task.CompletedTask);
            await RecordWritingBackAsync(decision, round, done, rest);
        }

        /// <summary>The saves still being stored, as one task (null when there are none).</summary>
        private static Task? InFlight(Task? first, Task? second) =>
            first is null ? second : second is null ? first : Task.WhenAll(first, second);

        /// <summary>
        /// What the ticket is told was done: this run's steps, and those of the plan an earlier run of the round did (it
        /// stopped before telling the ticket, and this run skipped them).
        /// </summary>
        private static IReadOnlyList<ExecutedStep> Told(Decision decision, IReadOnlySet<string> doneEarlier, IReadOnlyList<ExecutedStep> executed)
        {
            if (decision.Plan is not { } plan || decision.DryRun || doneEarlier.Count == 0)
            {
                return executed;
            }

            var ranNow = executed.Select(s => s.Operation.StepId).ToHashSet(StringComparer.Ordinal);
            return [.. plan.Operations.Where(o => doneEarlier.Contains(o.StepId) && !ranNow.Contains(o.StepId)).Select(ExecutedStep.DoneEarlier), .. executed];
        }

        /// <summary>Saves the round as acting, with the steps done so far (taken now, not when the save runs).</summary>
        private async Task CheckpointAsync(Decision decision, IReadOnlySet<string> done)
        {
            _state = _state with { Phase = RoundPhase.Acting, Outcome = decision.Outcome, Rule = decision.Rule, StepsDone = done.ToList(), StepsInFlight = [] };
            _state = await p.SaveAsync(_buffer, _state, ct);
            (_recordedMarker, _recording) = (null, false); // this save replaced an early record of the write-back
        }

        /// <summary>Saves the round as writing back with the marker the write-back will carry if the remaining steps succeed.</summary>
        private async Task RecordWritingBackAsync(Decision decision, string round, IReadOnlySet<string> done, IEnumerable<DirectoryOperation> stage)
        {
            _recording = true;
            _state = _state with
            {
                Phase = RoundPhase.WritingBack,
                Outcome = decision.Outcome,
                Rule = decision.Rule,
                WriteBackMarker = WriteBackMarker(round, decision),
                StepsDone = done.ToList(),
                StepsInFlight = stage.Select(o => o.StepId).Where(id => !done.Contains(id)).ToList(),
            };
            _state = await p.SaveAsync(_buffer, _state, ct);
            _recordedMarker = _state.WriteBackMarker;
        }

        private static string WriteBackMarker(string round, Decision decision) =>
            Marker(round, decision.DryRun ? "dryrun" : decision.Outcome.ToString().ToLowerInvariant());

        /// <summary>
        /// The last stage's results are saved after the write-back; when the run stopped in between, the write-back on
        /// the ticket is what proves they succeeded (it is sent only once every step of that stage has), so that is
        /// what the trail records for them.
        /// </summary>
        private void RecordStepsProvenByWriteBack(string marker)
        {
            foreach (var step in _state.StepsInFlight)
            {
                _buffer.Add(AuditKinds.ChangeApplied,
                    ("step", step),
                    ("operation", DirectoryOperation.OperationOf(step)),
                    ("status", "Succeeded"),
                    ("detail", $"Result not saved: the run stopped after writing back, and the write-back ({marker}) is sent only once this step has succeeded."));
            }
        }

        private void RecordSteps(IEnumerable<ExecutedStep> steps)
        {
            foreach (var step in steps)
            {
                _buffer.Add(step.Result.Succeeded ? AuditKinds.ChangeApplied : AuditKinds.ChangeFailed,
                    ("step", step.Operation.StepId),
                    ("operation", step.Operation.GetType().Name),
                    ("status", step.Result.Status.ToString()),
                    ("requestId", step.Result.RequestId),
                    ("detail", step.Result.Detail),
                    ("at", step.At.ToString("O", CultureInfo.InvariantCulture)));
            }
        }

        /// <summary>
        /// What this service granted or removed for the person (for movers and SoD), and the expiries that no longer apply
        /// (time-bound grants are registered before the write-back, see <see cref="RegisterExpiriesAsync"/>).
        /// </summary>
        private async Task RecordGrantsAsync(DecisionContext ctx, Decision decision, IReadOnlyList<ExecutedStep> executed)
        {
            if (decision.Plan is not { } plan || decision.DryRun)
            {
                return;
            }

            var added = executed.Where(s => s.Result.Succeeded).Select(s => s.Operation).OfType<AddMember>().ToList();
            var removed = executed.Where(s => s.Result.Succeeded).Select(s => s.Operation).OfType<RemoveMember>().ToList();
            var work = new List<Task>();
            if ((added.Count > 0 || removed.Count > 0) && ctx.Target?.User is { } target)
            {
                // An expiry on record no longer applies to access granted again with no end date (held already, so the
                // add changed nothing): it would take away what this ticket grants for good.
                var timeBound = plan.Grants.Select(g => g.GroupId).ToHashSet(StringComparer.OrdinalIgnoreCase);
                var forGood = executed.Where(s => s.Result.Status == ChangeStatus.NoOp).Select(s => s.Operation).OfType<AddMember>()
                    .Where(a => !timeBound.Contains(a.GroupId)).Select(a => a.GroupId).ToList();

                // The decision and its changes are made: the lock goes with the record (one write to the row, not two).
                var releasing = _personLock?.PersonId == target.Id ? _personLock : null;
                work.Add(RecordPersonAsync(target.Id, added.Select(a => a.GroupId).ToList(), removed.Select(r => r.GroupId).ToList(), releasing, forGood));
            }

            await Task.WhenAll(work);
        }

        /// <summary>
        /// Registers the plan's time-bound grants for expiry: those added now, and those an earlier run of this round
        /// added (this one skipped the step), whose expiry must be on record all the same.
        /// </summary>
        private async Task RegisterExpiriesAsync(Decision decision, IReadOnlyList<ExecutedStep> executed)
        {
            if (decision.Plan is not { Grants.Count: > 0 } plan || decision.DryRun)
            {
                return;
            }

            var added = executed.Where(s => s.Result.Succeeded).Select(s => s.Operation).OfType<AddMember>().ToList();
            await Task.WhenAll(plan.Grants
                .Where(g => added.Any(a => a.GroupId == g.GroupId) || _state.StepsDone.Contains(new AddMember(g.GroupId, g.UserId, g.EntitlementId).StepId))
                .Select(g => p._grants.RecordAsync(new GrantRecord(item.Ticket, g.EntitlementId, g.GroupId, g.UserId, g.Until), ct)));
        }

        /// <param name="forGood">
        /// Groups granted with no end date that were held already: their expiries on record are lifted. Looked up only
        /// where this service granted the group before (an expiry is recorded only for a grant of its own).
        /// </param>
        private async Task RecordPersonAsync(string personId, IReadOnlyList<string> added, IReadOnlyList<string> removed, PersonLock? releasing,
            IReadOnlyList<string> forGood)
        {
            var before = await p._persons.RecordAsync(personId, added, removed, ct, releasing);
            if (releasing is not null)
            {
                _personLock = null;
            }

            foreach (var groupId in forGood.Where(g => before.Contains(g, StringComparer.OrdinalIgnoreCase)))
            {
                foreach (var grant in await p._grants.ActiveAsync(groupId, personId, ct))
                {
                    await p._grants.CompleteAsync(grant, ct);
                    _buffer.Add(AuditKinds.GrantEndLifted, ("entitlement", grant.EntitlementId), ("group", grant.GroupId), ("user", grant.UserId),
                        ("until", grant.Until.ToString("O", CultureInfo.InvariantCulture)), ("grantedBy", grant.Ticket.ToString()), ("reason", "granted again with no end date"));
                }
            }
        }

        private async Task<ProcessResult> SkipAsync(string why)
        {
            _buffer.Round = _state.Round;
            _buffer.Add(AuditKinds.Skipped, ("reason", why), ("delivery", item.DeliveryId));
            await SaveReleasedAsync();
            ProcessingLog.Skipped(p._logger, item.Ticket, why);
            return new ProcessResult(ProcessStatus.Skipped, why);
        }

        private async Task SaveReleasedAsync() =>
            _state = await p.SaveAsync(_buffer, _state with { LeaseOwner = null, LeaseUntil = null }, ct);

        /// <summary>Records the failure and lets go of the ticket so the retry does not wait for the lease to expire.</summary>
        public async Task ReleaseAfterFailureAsync(Exception failure)
        {
            try
            {
                _buffer.Add(AuditKinds.Failure, ("failure", Describe(failure)), ("attempt", item.Attempt.ToString(CultureInfo.InvariantCulture)));
                _state = _state with { Failures = _state.Failures + 1 };
                _state = await p.SaveAsync(_buffer, _state with { LeaseOwner = null, LeaseUntil = null }, CancellationToken.None);
            }
            catch (Exception)
            {
                // Storage may be what failed; the lease then simply expires.
            }
        }

        /// <summary>Grants can complete a conflicting set (also through nesting), so they are decided one at a time per person.</summary>
        private static bool NeedsPersonLock(AccessRequest request, PolicyDocument policy) =>
            request.Type == RequestType.AccessGrant && policy.SeparationOfDuties.Count > 0;

        /// <summary>Adds what this service granted (the directory may not show it yet) to the target's memberships.</summary>
        private static DecisionContext WithOwnGrants(DecisionContext ctx, string userId, IReadOnlyList<string> granted)
        {
            if (granted.Count == 0)
            {
                return ctx;
            }

            var current = ctx.Memberships.GetValueOrDefault(userId) ?? [];
            var merged = current.Concat(granted.Where(g => current.All(m => !string.Equals(m.Id, g, StringComparison.OrdinalIgnoreCase)))
                .Select(g => new Membership(g, "granted by this service"))).ToList();
            var memberships = ctx.Memberships.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.OrdinalIgnoreCase);
            memberships[userId] = merged;
            return ctx with { Memberships = memberships };
        }
    }
}
