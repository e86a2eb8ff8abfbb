using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Intake;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace IamFulfillment.Core.Tests.Processing;

/// <summary>
/// How a sweep walks a busy ticket system: in slices, each from the last change of the one before, until the system
/// says there is no more; a slice that cannot move on is reported; one system failing leaves the others swept.
/// (The searches themselves are proved against the sandboxes, the whole sweep through the standalone host.)
/// </summary>
public sealed class ReconciliationTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Sweep_MoreChangesThanOneSlice_GoesOnFromEachSlicesLastChange_UntilThereIsNoMore()
    {
        var changes = Enumerable.Range(0, 1_200).Select(i => new TicketChange($"IAM-{i}", Now.AddMinutes(-50).AddSeconds(i))).ToList();

        // A search may stop short of max and say there is more (ServiceNow cuts at its fullest list).
        foreach (var cap in new[] { Reconciliation.MaxPerSystem, 300 })
        {
            var (sweep, queue, _) = Build(new SearchableSystem(TicketSystemKind.Jira, changes, cap));

            var queued = await sweep.SweepAsync(TimeSpan.FromHours(1), CancellationToken.None);

            Assert.Equal(changes.Select(c => c.Key).Order(), queue.Keys.Distinct().Order());
            Assert.InRange(queued, 1_200, 1_205); // a slice's last ticket is looked at again by the next one
        }
    }

    [Fact]
    public async Task Sweep_ASliceAllChangedAtOneMoment_IsReported_AndTheSweepEnds()
    {
        var changes = Enumerable.Range(0, 600).Select(i => new TicketChange($"IAM-{i}", Now.AddMinutes(-30))).ToList();
        var (sweep, queue, logs) = Build(new SearchableSystem(TicketSystemKind.Jira, changes));

        await sweep.SweepAsync(TimeSpan.FromHours(1), CancellationToken.None);

        Assert.Equal(Reconciliation.MaxPerSystem, queue.Keys.Distinct().Count());
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.Id == 2203);
    }

    [Fact]
    public async Task Sweep_ASystemThatCannotBeSearched_IsLogged_AndTheOthersAreSwept()
    {
        var failing = new SearchableSystem(TicketSystemKind.ServiceNow, [], fails: true);
        var jira = new SearchableSystem(TicketSystemKind.Jira, [new TicketChange("IAM-1", Now.AddMinutes(-5))]);
        var (sweep, queue, logs) = Build(failing, jira);

        var queued = await sweep.SweepAsync(TimeSpan.FromHours(1), CancellationToken.None);

        Assert.Equal(1, queued);
        Assert.Equal(["IAM-1"], queue.Keys);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.Id == 2202);
    }

    private static (Reconciliation Sweep, RecordingQueue Queue, RecordingLogger Logs) Build(params ITicketSystem[] systems)
    {
        var queue = new RecordingQueue();
        var logs = new RecordingLogger();
        var sweep = new Reconciliation(systems, new NoStates(), queue, queue, new IntakeOptions(), new FakeTimeProvider(Now), logs);
        return (sweep, queue, logs);
    }

    /// <summary>A ticket system whose search answers like the connectors: oldest first, at most max, More when cut.</summary>
    private sealed class SearchableSystem(TicketSystemKind kind, IReadOnlyList<TicketChange> changes, int cap = int.MaxValue, bool fails = false) : ITicketSystem
    {
        public TicketSystemKind Kind => kind;

        public Task<ChangedTickets> FindChangedAsync(DateTimeOffset since, int max, CancellationToken cancellationToken)
        {
            if (fails)
            {
                throw new HttpRequestException("search refused");
            }

            var found = changes.Where(c => c.ChangedAt >= since).OrderBy(c => c.ChangedAt).ToList();
            var take = Math.Min(max, cap);
            return Task.FromResult(new ChangedTickets([.. found.Take(take)], more: found.Count > take));
        }

        public Task<TicketSnapshot> ReadAsync(string key, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<WriteBackReceipt> WriteBackAsync(TicketSnapshot ticket, WriteBack writeBack, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<bool> ShowsMarkerAsync(TicketSnapshot ticket, string marker, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    /// <summary>A store that has never seen a ticket: every change found is one to queue.</summary>
    private sealed class NoStates : ITicketStore
    {
        public Task<TicketState?> GetAsync(TicketRef ticket, CancellationToken cancellationToken) => Task.FromResult<TicketState?>(null);

        public Task<LeaseAttempt> TryAcquireAsync(TicketRef ticket, string owner, TimeSpan duration, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<TicketState> SaveAsync(TicketState state, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<AuditEvent>> ReadTrailAsync(TicketRef ticket, CancellationToken cancellationToken) => throw new NotSupportedException();

        public IAsyncEnumerable<AuditEvent> QueryEventsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private sealed class RecordingQueue : IWorkQueue, IWorkSignal
    {
        public List<string> Keys { get; } = [];

        public Task EnqueueAsync(WorkItem item, TimeSpan? delay, CancellationToken cancellationToken)
        {
            Assert.Equal(Reconciliation.Reason, item.Reason);
            Keys.Add(item.TicketKey);
            return Task.CompletedTask;
        }

        public void Notify()
        {
        }
    }

    private sealed class RecordingLogger : ILogger<Reconciliation>
    {
        public List<(LogLevel Level, int Id)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, eventId.Id));
    }
}
