using System.Diagnostics;
using Azure.Data.Tables;
using IamFulfillment.Connectors.Storage;
using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace IamFulfillment.Connectors.Tests.Storage;

[Collection(AzuriteCollection.Name)]
public sealed class TableTicketStoreTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private static readonly TicketRef Ticket = new(TicketSystemKind.ServiceNow, "4f1c2a9e0b1d4e6f8a7b6c5d4e3f2a1b");
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task Acquire_WhenNoStateYet_CreatesStateHoldingTheLease()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();

        var attempt = await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None);

        Assert.True(attempt.Acquired);
        Assert.Equal("worker-a", attempt.State!.LeaseOwner);
        Assert.Equal(StorageScope.Start + Lease, attempt.State.LeaseUntil);
        Assert.NotNull(attempt.State.ETag);
        Assert.Equal(AuditChain.Genesis, attempt.State.AuditHead);
        Assert.Equal(0, attempt.State.AuditSequence);
    }

    [Fact]
    public async Task Acquire_WhenLeasedByOtherAndNotExpired_ReturnsBusy()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None);
        scope.Time.Advance(TimeSpan.FromMinutes(4));

        var attempt = await store.TryAcquireAsync(Ticket, "worker-b", Lease, CancellationToken.None);

        Assert.False(attempt.Acquired);
        Assert.Equal(StorageScope.Start + Lease, attempt.BusyUntil);
    }

    [Fact]
    public async Task Acquire_WhenOtherLeaseExpired_TakesOverAndKeepsTheState()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        var first = (await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;
        var (withEvents, events) = AuditEvents.Append(first with { Round = "r1", Phase = RoundPhase.Acting }, 2, scope.Time.GetUtcNow());
        await store.SaveAsync(withEvents, events, CancellationToken.None);
        scope.Time.Advance(Lease + TimeSpan.FromSeconds(1));

        var attempt = await store.TryAcquireAsync(Ticket, "worker-b", Lease, CancellationToken.None);

        Assert.True(attempt.Acquired);
        Assert.Equal("worker-b", attempt.State!.LeaseOwner);
        Assert.Equal(scope.Time.GetUtcNow() + Lease, attempt.State.LeaseUntil);
        Assert.Equal(RoundPhase.Acting, attempt.State.Phase);
        Assert.Equal(2, attempt.State.AuditSequence);
        Assert.Equal(events[^1].Hash, attempt.State.AuditHead);
    }

    [Fact]
    public async Task Acquire_BySameOwnerWhileLeased_ExtendsTheLease()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        var first = (await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;
        scope.Time.Advance(TimeSpan.FromMinutes(3));

        var again = await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None);

        Assert.True(again.Acquired);
        Assert.Equal(scope.Time.GetUtcNow() + Lease, again.State!.LeaseUntil);
        Assert.NotEqual(first.ETag, again.State.ETag);
    }

    [Fact]
    public async Task Acquire_WhenReleasedBySaveWithoutOwner_IsFreeForAnyone()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        var state = (await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;
        await store.SaveAsync(state with { LeaseOwner = null, LeaseUntil = null, Phase = RoundPhase.Completed }, [], CancellationToken.None);

        var attempt = await store.TryAcquireAsync(Ticket, "worker-b", Lease, CancellationToken.None);

        Assert.True(attempt.Acquired);
        Assert.Equal(RoundPhase.Completed, attempt.State!.Phase);
    }

    [Fact]
    public async Task Acquire_WhenEightWorkersRaceForANewTicket_ExactlyOneWins()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();

        var attempts = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => store.TryAcquireAsync(Ticket, $"worker-{i}", Lease, CancellationToken.None)));

        var winner = Assert.Single(attempts, a => a.Acquired);
        Assert.All(attempts.Where(a => !a.Acquired), a => Assert.NotNull(a.BusyUntil));
        var stored = await store.TryAcquireAsync(Ticket, winner.State!.LeaseOwner!, Lease, CancellationToken.None);
        Assert.True(stored.Acquired);
    }

    [Fact]
    public async Task AcquireObserved_WhenThereWasNoStateAndStillIsNone_CreatesStateHoldingTheLease()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();

        var attempt = await store.TryAcquireObservedAsync(Ticket, null, "worker-a", Lease, CancellationToken.None);

        Assert.True(attempt.Acquired);
        Assert.Equal("worker-a", (await store.GetAsync(Ticket, CancellationToken.None))!.LeaseOwner);
    }

    [Fact]
    public async Task AcquireObserved_WhenStateWasCreatedSinceItWasObservedMissing_DoesNotTakeTheLease()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        await store.TryAcquireAsync(Ticket, "worker-b", Lease, CancellationToken.None);

        var attempt = await store.TryAcquireObservedAsync(Ticket, null, "worker-a", Lease, CancellationToken.None);

        Assert.False(attempt.Acquired);
        Assert.Null(attempt.BusyUntil);
        Assert.Equal("worker-b", (await store.GetAsync(Ticket, CancellationToken.None))!.LeaseOwner);
    }

    [Fact]
    public async Task AcquireObserved_WhenStateChangedSinceItWasObserved_DoesNotTakeTheLease()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        var b = await store.TryAcquireAsync(Ticket, "worker-b", Lease, CancellationToken.None);
        await store.SaveAsync(b.State! with { LeaseOwner = null, LeaseUntil = null }, [], CancellationToken.None);
        var observed = await store.GetAsync(Ticket, CancellationToken.None);
        await store.TryAcquireAsync(Ticket, "worker-c", Lease, CancellationToken.None);

        var attempt = await store.TryAcquireObservedAsync(Ticket, observed, "worker-a", Lease, CancellationToken.None);

        Assert.False(attempt.Acquired);
        Assert.Equal("worker-c", (await store.GetAsync(Ticket, CancellationToken.None))!.LeaseOwner);
    }

    [Fact]
    public async Task AcquireObserved_WhenObservedFreeAndUnchanged_TakesTheLeaseKeepingTheState()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        var b = await store.TryAcquireAsync(Ticket, "worker-b", Lease, CancellationToken.None);
        await store.SaveAsync(b.State! with { LeaseOwner = null, LeaseUntil = null, Round = "r1", Phase = RoundPhase.Completed }, [], CancellationToken.None);
        var observed = await store.GetAsync(Ticket, CancellationToken.None);

        var attempt = await store.TryAcquireObservedAsync(Ticket, observed, "worker-a", Lease, CancellationToken.None);

        Assert.True(attempt.Acquired);
        Assert.Equal("r1", attempt.State!.Round);
        Assert.Equal(RoundPhase.Completed, attempt.State.Phase);
        Assert.Equal("worker-a", (await store.GetAsync(Ticket, CancellationToken.None))!.LeaseOwner);
    }

    [Fact]
    public async Task AcquireObserved_WhenObservedLeasedByOther_ReportsBusyWithoutWriting()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        await store.TryAcquireAsync(Ticket, "worker-b", Lease, CancellationToken.None);
        var observed = await store.GetAsync(Ticket, CancellationToken.None);

        var attempt = await store.TryAcquireObservedAsync(Ticket, observed, "worker-a", Lease, CancellationToken.None);

        Assert.False(attempt.Acquired);
        Assert.Equal(StorageScope.Start + Lease, attempt.BusyUntil);
        Assert.Equal(observed!.ETag, (await store.GetAsync(Ticket, CancellationToken.None))!.ETag);
    }

    [Fact]
    public async Task Save_WritesStateAndEventsInOneCheckpoint_AndReturnsTheNewETag()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        var state = (await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;
        var (next, events) = AuditEvents.Append(state with { Round = "r1", Phase = RoundPhase.Acting, StepsDone = ["add:g1"] }, 3, scope.Time.GetUtcNow());

        var saved = await store.SaveAsync(next, events, CancellationToken.None);

        Assert.NotEqual(state.ETag, saved.ETag);
        Assert.Equal(3, saved.AuditSequence);
        Assert.Equal(events[^1].Hash, saved.AuditHead);
        var trail = await store.ReadTrailAsync(Ticket, CancellationToken.None);
        Assert.Equal([1L, 2L, 3L], trail.Select(e => e.Sequence));
        Assert.Empty(AuditChain.Verify(trail));

        // The returned ETag is the live one: the next checkpoint with it succeeds.
        var (after, more) = AuditEvents.Append(saved with { Phase = RoundPhase.Completed }, 1, scope.Time.GetUtcNow());
        var final = await store.SaveAsync(after, more, CancellationToken.None);
        Assert.Equal(4, final.AuditSequence);
    }

    [Fact]
    public async Task Save_WithStateWhoseHeadIsBeforeTheEvents_AdvancesTheHead()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        var state = (await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;
        var (_, events) = AuditEvents.Append(state, 2, scope.Time.GetUtcNow());

        var saved = await store.SaveAsync(state with { Phase = RoundPhase.Acting }, events, CancellationToken.None);

        Assert.Equal(2, saved.AuditSequence);
        Assert.Equal(events[^1].Hash, saved.AuditHead);
    }

    [Fact]
    public async Task Save_WithStaleETag_ThrowsLeaseLostAndWritesNothing()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        var mine = (await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;
        scope.Time.Advance(Lease + TimeSpan.FromSeconds(1));
        var theirs = (await store.TryAcquireAsync(Ticket, "worker-b", Lease, CancellationToken.None)).State!;
        var (next, events) = AuditEvents.Append(mine with { Phase = RoundPhase.Acting }, 2, scope.Time.GetUtcNow());

        var lost = await Assert.ThrowsAsync<LeaseLostException>(() => store.SaveAsync(next, events, CancellationToken.None));

        Assert.Equal(Ticket, lost.Ticket);
        Assert.Empty(await store.ReadTrailAsync(Ticket, CancellationToken.None));
        var current = await store.TryAcquireAsync(Ticket, "worker-b", Lease, CancellationToken.None);
        Assert.Equal(RoundPhase.Idle, current.State!.Phase);
        Assert.NotEqual(theirs.ETag, current.State.ETag); // extended by worker-b just now, nothing else changed it
    }

    [Fact]
    public async Task Save_WithStaleETagAndManyEvents_ThrowsLeaseLostAndWritesNothing()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        var mine = (await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;
        scope.Time.Advance(Lease + TimeSpan.FromSeconds(1));
        await store.TryAcquireAsync(Ticket, "worker-b", Lease, CancellationToken.None);
        var (next, events) = AuditEvents.Append(mine, 150, scope.Time.GetUtcNow());

        await Assert.ThrowsAsync<LeaseLostException>(() => store.SaveAsync(next, events, CancellationToken.None));

        Assert.Empty(await store.ReadTrailAsync(Ticket, CancellationToken.None));
    }

    [Fact]
    public async Task Save_StateWhoseAnswerWasLost_IsSavedNotALostLease_WhenTheClientsRetryMeetsItsOwnWrite()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var leased = (await scope.Get<ITicketStore>().TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;
        var lost = new LostAnswer(r => r.Method == Azure.Core.RequestMethod.Put);
        var store = new TableTicketStore(scope.RetriedTable(t => t.Tickets, lost), scope.Time, scope.Get<ILogger<TableTicketStore>>());

        var saved = await store.SaveAsync(leased with { Round = "r1", Phase = RoundPhase.Acting, StepsDone = ["add:g1"] }, [], CancellationToken.None);

        Assert.True(lost.Lost);
        Assert.Contains(scope.Logs, l => l.Id.Id == 4006);
        var stored = await store.GetAsync(Ticket, CancellationToken.None);
        Assert.Equal(stored!.ETag, saved.ETag); // the live ETag: the run goes on with it
        Assert.Equal(["add:g1"], stored.StepsDone);
        var released = await store.SaveAsync(saved with { Phase = RoundPhase.Completed, LeaseOwner = null, LeaseUntil = null }, [], CancellationToken.None);
        Assert.Equal(RoundPhase.Completed, (await store.GetAsync(Ticket, CancellationToken.None))!.Phase);
        Assert.NotEqual(saved.ETag, released.ETag);
    }

    [Fact]
    public async Task Save_CheckpointWhoseAnswerWasLost_IsSavedWithItsEventsStoredOnce()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var leased = (await scope.Get<ITicketStore>().TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;
        var lost = new LostAnswer(r => r.Method == Azure.Core.RequestMethod.Post && r.Uri.Path.EndsWith("$batch", StringComparison.Ordinal));
        var store = new TableTicketStore(scope.RetriedTable(t => t.Tickets, lost), scope.Time, scope.Get<ILogger<TableTicketStore>>());
        var (next, events) = AuditEvents.Append(leased with { Round = "r1", Phase = RoundPhase.Acting }, 3, scope.Time.GetUtcNow());

        var saved = await store.SaveAsync(next, events, CancellationToken.None);

        Assert.True(lost.Lost);
        Assert.Equal(3, saved.AuditSequence);
        var (after, more) = AuditEvents.Append(saved with { Phase = RoundPhase.Completed }, 1, scope.Time.GetUtcNow());
        await store.SaveAsync(after, more, CancellationToken.None);
        var trail = await store.ReadTrailAsync(Ticket, CancellationToken.None);
        Assert.Equal([1L, 2L, 3L, 4L], trail.Select(e => e.Sequence));
        Assert.Empty(AuditChain.Verify(trail));
    }

    [Fact]
    public async Task Save_MoreThan99Events_SplitsIntoTransactionsInOrder()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        var state = (await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;
        var (next, events) = AuditEvents.Append(state with { Phase = RoundPhase.Completed, Outcome = Outcome.Fulfilled }, 250, scope.Time.GetUtcNow());

        var saved = await store.SaveAsync(next, events, CancellationToken.None);

        Assert.Equal(250, saved.AuditSequence);
        var trail = await store.ReadTrailAsync(Ticket, CancellationToken.None);
        Assert.Equal(Enumerable.Range(1, 250).Select(i => (long)i), trail.Select(e => e.Sequence));
        Assert.Empty(AuditChain.Verify(trail));
        var reread = (await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;
        Assert.Equal(RoundPhase.Completed, reread.Phase);
        Assert.Equal(events[^1].Hash, reread.AuditHead);
    }

    [Fact]
    public async Task Save_CrashBetweenTransactions_LeavesOldStateWithAConsistentTrail_ThatTheNextCheckpointContinues()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var crashing = new CrashOnSecondTransaction(scope.ConnectionString, scope.Tables.Tickets);
        var store = new TableTicketStore(crashing, scope.Time, Microsoft.Extensions.Logging.Abstractions.NullLogger<TableTicketStore>.Instance);
        var state = (await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;
        var (next, events) = AuditEvents.Append(state with { Phase = RoundPhase.Completed, Outcome = Outcome.Fulfilled }, 150, scope.Time.GetUtcNow());

        await Assert.ThrowsAsync<IOException>(() => store.SaveAsync(next, events, CancellationToken.None));

        // The first 99 events are in, the state knows exactly those, and its phase is still the old one.
        var trail = await store.ReadTrailAsync(Ticket, CancellationToken.None);
        Assert.Equal(TableTicketStore.MaxEventsPerTransaction, trail.Count);
        Assert.Empty(AuditChain.Verify(trail));
        var resumed = (await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;
        Assert.Equal(RoundPhase.Idle, resumed.Phase);
        Assert.Equal(99, resumed.AuditSequence);
        Assert.Equal(trail[^1].Hash, resumed.AuditHead);

        // The retry appends from there.
        var (retry, more) = AuditEvents.Append(resumed with { Phase = RoundPhase.Completed }, 51, scope.Time.GetUtcNow());
        var saved = await store.SaveAsync(retry, more, CancellationToken.None);
        Assert.Equal(150, saved.AuditSequence);
        Assert.Empty(AuditChain.Verify(await store.ReadTrailAsync(Ticket, CancellationToken.None)));
    }

    /// <summary>A real client whose second transaction dies on the way (as a process crash or a lost connection would).</summary>
    private sealed class CrashOnSecondTransaction(string connectionString, string table) : TableClient(connectionString, table)
    {
        private int _transactions;

        public override Task<Azure.Response<IReadOnlyList<Azure.Response>>> SubmitTransactionAsync(
            IEnumerable<TableTransactionAction> transactionActions, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _transactions) == 2
                ? throw new IOException("connection reset")
                : base.SubmitTransactionAsync(transactionActions, cancellationToken);
    }

    [Fact]
    public async Task Save_EventsLargerThanOneTransactionBody_SplitsBySize()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        var state = (await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;

        // Non-ASCII text is escaped to 6 bytes a character on the wire: 40 of these are ~7 MB, over the 4 MiB limit.
        var big = new string('é', 30_000);
        var (next, events) = AuditEvents.Append(state, 40, scope.Time.GetUtcNow(), _ => new Dictionary<string, string?> { ["note"] = big });

        var saved = await store.SaveAsync(next, events, CancellationToken.None);

        Assert.Equal(40, saved.AuditSequence);
        var trail = await store.ReadTrailAsync(Ticket, CancellationToken.None);
        Assert.Equal(40, trail.Count);
        Assert.Equal(big, trail[^1].Data["note"]);
        Assert.Empty(AuditChain.Verify(trail));
    }

    [Fact]
    public async Task Save_EventDataOverThePropertyLimit_IsRejectedUnalteredAndNothingIsWritten()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        var state = (await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;
        var (next, events) = AuditEvents.Append(state, 3, scope.Time.GetUtcNow(),
            seq => new Dictionary<string, string?> { ["note"] = seq == 2 ? new string('x', 40_000) : "short" });

        var rejected = await Assert.ThrowsAsync<AuditEventTooLargeException>(() => store.SaveAsync(next, events, CancellationToken.None));

        Assert.Equal(2, rejected.Sequence);
        Assert.Equal("Data", rejected.Property);
        Assert.Empty(await store.ReadTrailAsync(Ticket, CancellationToken.None));
        var saved = await store.SaveAsync(state with { Phase = RoundPhase.Acting }, [], CancellationToken.None); // ETag untouched
        Assert.Equal(0, saved.AuditSequence);
    }

    [Fact]
    public async Task Save_EventsThatDoNotContinueTheStatesChain_AreRejected()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        var state = (await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;
        var (_, events) = AuditEvents.Append(state with { AuditSequence = 5, AuditHead = "elsewhere" }, 2, scope.Time.GetUtcNow());

        await Assert.ThrowsAsync<ArgumentException>(() => store.SaveAsync(state, events, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.SaveAsync(state, [events[0] with { Kind = "edited" }], CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.SaveAsync(state with { ETag = null }, [], CancellationToken.None));
    }

    [Fact]
    public async Task State_RoundTripsEveryField()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        var state = (await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;
        var full = state with
        {
            Number = "RITM0010042",
            Round = "r-7f3a",
            Phase = RoundPhase.Scheduled,
            Outcome = Outcome.Escalated,
            Rule = "approval.stale",
            WrittenState = "-5",
            StepsDone = ["add:11111111-2222-3333-4444-555555555555", "comment:r-7f3a"],
            StepsInFlight = ["remove:11111111-2222-3333-4444-555555555555"],
            WriteBackMarker = "[iamf:r-7f3a:decision]",
            Reopened = 2,
            ScheduledFor = StorageScope.Start.AddDays(3).AddTicks(7),
            RoundStartedAt = StorageScope.Start.AddMinutes(-2).AddTicks(3),
        };
        var (withEvents, events) = AuditEvents.Append(full, 1, scope.Time.GetUtcNow());
        await store.SaveAsync(withEvents, events, CancellationToken.None);

        var read = (await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;

        Assert.Equal(withEvents with { ETag = read.ETag, StepsDone = read.StepsDone, StepsInFlight = read.StepsInFlight, LastWrittenAt = read.LastWrittenAt }, read);
        Assert.Equal(full.StepsInFlight, read.StepsInFlight);
        Assert.NotNull(read.LastWrittenAt); // the store's own write time, by its clock
        Assert.Equal(full.StepsDone, read.StepsDone);
        Assert.Equal(full.ScheduledFor!.Value.UtcTicks, read.ScheduledFor!.Value.UtcTicks);
        Assert.Equal(full.RoundStartedAt!.Value.UtcTicks, read.RoundStartedAt!.Value.UtcTicks);
    }

    [Fact]
    public async Task ReadTrail_ReturnsEventsExactlyAsHashed_AndTheChainVerifies()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        var state = (await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;
        var at = new DateTimeOffset(2026, 11, 26, 14, 0, 0, TimeSpan.FromHours(2)).AddTicks(9_876_543); // sub-millisecond, non-UTC offset
        var (next, events) = AuditEvents.Append(state with { Round = "r1" }, 3, at, seq => new Dictionary<string, string?>
        {
            ["group"] = "11111111-2222-3333-4444-555555555555",
            ["GroupId"] = "kept as written: keys are case-sensitive and not camel-cased",
            ["note"] = $"line one\nline two = \"quoted\" <b>ü</b> #{seq}",
            ["absent"] = null,
            ["empty"] = "",
        });
        await store.SaveAsync(next, events, CancellationToken.None);

        var trail = await store.ReadTrailAsync(Ticket, CancellationToken.None);

        Assert.Empty(AuditChain.Verify(trail));
        for (var i = 0; i < events.Count; i++)
        {
            Assert.Equal(events[i].Hash, trail[i].Hash);
            Assert.Equal(events[i].At, trail[i].At);
            Assert.Equal(events[i].Round, trail[i].Round);
            Assert.Equal(events[i].Data.OrderBy(p => p.Key), trail[i].Data.OrderBy(p => p.Key));
            Assert.Equal(Ticket, trail[i].Ticket);
        }
    }

    [Fact]
    public async Task ReadTrail_WhenAnEventRowIsEditedInTheTable_VerifyReportsTheAlteration()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        var state = (await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;
        var (next, events) = AuditEvents.Append(state, 3, scope.Time.GetUtcNow());
        await store.SaveAsync(next, events, CancellationToken.None);

        var raw = scope.RawTable(t => t.Tickets);
        var row = (await raw.GetEntityAsync<TableEntity>(Ticket.StorageKey, "e0000000002")).Value;
        row["Data"] = """{"step":"step-2","result":"approved by my boss"}""";
        await raw.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);

        var problems = AuditChain.Verify(await store.ReadTrailAsync(Ticket, CancellationToken.None));

        Assert.Contains("event 2 was altered (hash mismatch)", problems);
    }

    [Fact]
    public async Task ReadTrail_WhenAnEventRowIsDeleted_VerifyReportsTheGap()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        var state = (await store.TryAcquireAsync(Ticket, "worker-a", Lease, CancellationToken.None)).State!;
        var (next, events) = AuditEvents.Append(state, 3, scope.Time.GetUtcNow());
        await store.SaveAsync(next, events, CancellationToken.None);

        await scope.RawTable(t => t.Tickets).DeleteEntityAsync(Ticket.StorageKey, "e0000000002");
        var problems = AuditChain.Verify(await store.ReadTrailAsync(Ticket, CancellationToken.None));

        Assert.Contains(problems, p => p.Contains("missing", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("does not chain", StringComparison.Ordinal));
    }

    [Fact]
    public async Task QueryEvents_ReturnsEventsOfThePeriodAcrossTickets()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        var day = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        var other = new TicketRef(TicketSystemKind.Jira, "HR-12");
        foreach (var (ticket, at) in new[] { (Ticket, day.AddHours(1)), (other, day.AddHours(2)), (other, day.AddDays(2)) })
        {
            var state = (await store.TryAcquireAsync(ticket, "worker-a", Lease, CancellationToken.None)).State!;
            var (next, events) = AuditEvents.Append(state, 2, at);
            await store.SaveAsync(next, events, CancellationToken.None);
        }

        var found = new List<AuditEvent>();
        await foreach (var e in store.QueryEventsAsync(day, day.AddDays(1), CancellationToken.None))
        {
            found.Add(e);
        }

        Assert.Equal(4, found.Count);
        Assert.Equal(2, found.Count(e => e.Ticket == other));
        Assert.All(found, e => Assert.InRange(e.At, day, day.AddDays(1)));
    }

    [Fact]
    public async Task Acquire_TicketKeyWithCharactersTablesForbid_IsRejectedClearly()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();

        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            store.TryAcquireAsync(new TicketRef(TicketSystemKind.Jira, "HR/12"), "worker-a", Lease, CancellationToken.None));

        Assert.Contains("table keys do not allow", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LeaseAndCheckpointRounds_OnAzurite_CompleteAndReportTheirTiming()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        const int rounds = 50;
        const int warmUp = 5; // the first rounds open connections and JIT the code
        var acquireNew = new List<double>();
        var save = new List<double>();
        var acquireExisting = new List<double>();
        var watch = new Stopwatch();
        for (var i = 0; i < rounds + warmUp; i++)
        {
            var ticket = new TicketRef(TicketSystemKind.Jira, $"HR-{i}");
            watch.Restart();
            var state = (await store.TryAcquireAsync(ticket, "worker-a", Lease, CancellationToken.None)).State!;
            var acquired = watch.Elapsed.TotalMilliseconds;
            var (next, events) = AuditEvents.Append(state with { Phase = RoundPhase.Completed }, 4, scope.Time.GetUtcNow());
            watch.Restart();
            await store.SaveAsync(next, events, CancellationToken.None);
            var saved = watch.Elapsed.TotalMilliseconds;
            watch.Restart();
            var again = await store.TryAcquireAsync(ticket, "worker-a", Lease, CancellationToken.None);
            var reacquired = watch.Elapsed.TotalMilliseconds;
            Assert.True(again.Acquired);
            if (i >= warmUp)
            {
                acquireNew.Add(acquired);
                save.Add(saved);
                acquireExisting.Add(reacquired);
            }
        }

        output.WriteLine($"lease on a new ticket (read + insert):        median {Median(acquireNew):F2} ms, p90 {Percentile(acquireNew, 0.9):F2} ms");
        output.WriteLine($"lease on an existing ticket (read + replace): median {Median(acquireExisting):F2} ms, p90 {Percentile(acquireExisting, 0.9):F2} ms");
        output.WriteLine($"checkpoint (state + 4 events, 1 transaction): median {Median(save):F2} ms, p90 {Percentile(save, 0.9):F2} ms");
        Assert.Equal(rounds, save.Count);
    }

    private static double Median(List<double> values) => Percentile(values, 0.5);

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(p * sorted.Count))];
    }
}
