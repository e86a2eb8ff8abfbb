using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Processing;

namespace IamFulfillment.Core.Ports;

public enum DeliveryStatus
{
    /// <summary>First time this delivery is seen.</summary>
    New,

    /// <summary>Seen before but its work item was never durably queued: queue it now.</summary>
    NotYetQueued,

    /// <summary>Seen and queued already: acknowledge and drop.</summary>
    AlreadyQueued,
}

/// <summary>Remembers webhook deliveries so retries are queued once and duplicates are dropped.</summary>
public interface IDeliveryLedger
{
    Task<DeliveryStatus> RecordAsync(TicketSystemKind system, string deliveryId, string ticketKey, CancellationToken cancellationToken);

    Task MarkQueuedAsync(TicketSystemKind system, string deliveryId, CancellationToken cancellationToken);

    /// <summary>
    /// Records a delivery whose work item is already durably queued, as queued. <see cref="DeliveryStatus.AlreadyQueued"/>:
    /// an earlier delivery's item is queued (take this one's back); otherwise this one's item is the one to process
    /// (<see cref="DeliveryStatus.NotYetQueued"/>: an earlier attempt recorded it without queuing; the record now says queued).
    /// A store that can do this in one write should: it is on the path of every delivery handed over in-process.
    /// </summary>
    async Task<DeliveryStatus> RecordQueuedAsync(TicketSystemKind system, string deliveryId, string ticketKey, CancellationToken cancellationToken)
    {
        var status = await RecordAsync(system, deliveryId, ticketKey, cancellationToken);
        if (status != DeliveryStatus.AlreadyQueued)
        {
            await MarkQueuedAsync(system, deliveryId, cancellationToken);
        }

        return status;
    }
}

/// <summary>The durable work queue between intake and processing.</summary>
public interface IWorkQueue
{
    Task EnqueueAsync(WorkItem item, TimeSpan? delay, CancellationToken cancellationToken);
}

/// <summary>An in-process nudge to the consumer after a durable enqueue, so no polling delay is paid.</summary>
public interface IWorkSignal
{
    void Notify();

    /// <summary>
    /// A free processing slot of this process's consumer, or null (no consumer here, or every slot busy). With one,
    /// intake queues the item held for this process and hands it over directly instead of waiting for a receive.
    /// </summary>
    IWorkClaim? TryClaim() => null;
}

/// <summary>One processing slot taken by intake for the item it is queuing; disposing it unstarted gives the slot back.</summary>
public interface IWorkClaim : IDisposable
{
    /// <summary>
    /// Queues the item durably, hidden from every other consumer while this process works on it: if the process
    /// dies, the message reappears and is processed as any other.
    /// </summary>
    Task QueueAsync(WorkItem item, CancellationToken cancellationToken);

    /// <summary>Takes the queued item back (the delivery turned out to be a duplicate, or could not be recorded).</summary>
    Task WithdrawAsync(CancellationToken cancellationToken);

    /// <summary>Starts processing the queued item in this process.</summary>
    void Start();
}

/// <summary>Outcome of trying to take the per-ticket lease.</summary>
public sealed record LeaseAttempt(TicketState? State, DateTimeOffset? BusyUntil)
{
    public bool Acquired => State is not null;
}

/// <summary>
/// Per-ticket processing state and the ticket's append-only audit trail, stored together so each checkpoint
/// (state change plus its events) is one atomic write.
/// </summary>
public interface ITicketStore
{
    Task<LeaseAttempt> TryAcquireAsync(TicketRef ticket, string owner, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the lease in one conditional write, only if the ticket's state is still exactly <paramref name="observed"/>
    /// (as <see cref="GetAsync"/> returned it; null: no state yet). Not acquired with no <see cref="LeaseAttempt.BusyUntil"/>
    /// means the state changed since it was observed (take the lease with <see cref="TryAcquireAsync"/> then). A store
    /// that cannot make the write conditional must keep this default, which never takes the lease.
    /// </summary>
    Task<LeaseAttempt> TryAcquireObservedAsync(TicketRef ticket, TicketState? observed, string owner, TimeSpan duration, CancellationToken cancellationToken) =>
        Task.FromResult(new LeaseAttempt(null, null));

    /// <summary>
    /// Saves the state (optimistic concurrency) with new audit events; throws <see cref="LeaseLostException"/> when another
    /// worker took over. A save whose exact content is already stored (it landed, but its answer was lost) succeeds.
    /// </summary>
    Task<TicketState> SaveAsync(TicketState state, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken);

    Task<IReadOnlyList<AuditEvent>> ReadTrailAsync(TicketRef ticket, CancellationToken cancellationToken);

    /// <summary>The ticket's state as stored, without taking the lease; null when the service has never seen the ticket.</summary>
    Task<TicketState?> GetAsync(TicketRef ticket, CancellationToken cancellationToken);

    /// <summary>Audit events in a period across tickets (evidence export, KPIs).</summary>
    IAsyncEnumerable<AuditEvent> QueryEventsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken);
}

public sealed class LeaseLostException(TicketRef ticket)
    : Exception($"The processing lease on {ticket} was lost to another worker.")
{
    public TicketRef Ticket { get; } = ticket;
}

/// <summary>
/// Counters serialised per key with optimistic concurrency: MFA resets per person, destructive operations per
/// window (the safety brake). Counted from this service's own records, not from a directory read that may lag.
/// </summary>
public interface ICounterStore
{
    /// <summary>
    /// Records an occurrence of <paramref name="weight"/> units under <paramref name="key"/>, identified by
    /// <paramref name="occurrenceId"/> (recording the same id again changes nothing and reports success), unless
    /// the units within <paramref name="window"/> would then exceed <paramref name="limit"/>. Returns whether it
    /// was recorded and the units counted in the window before the call.
    /// </summary>
    Task<CounterResult> TryRecordAsync(string key, string occurrenceId, int weight, int limit, TimeSpan window, DateTimeOffset now, CancellationToken cancellationToken);
}

public sealed record CounterResult(bool Recorded, int CountInWindow);

/// <summary>Time-bound grants, so they can be removed when they expire; and what a leaver lost, so it can be restored.</summary>
public interface IGrantRegistry
{
    Task RecordAsync(GrantRecord grant, CancellationToken cancellationToken);

    /// <summary>The grants due by <paramref name="now"/> (their end, or the retry a failed attempt set), soonest first.</summary>
    Task<IReadOnlyList<GrantRecord>> DueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken);

    /// <summary>
    /// An attempt to end <paramref name="grant"/> failed: it is due again at <paramref name="retryAt"/> (its end date
    /// stays), so grants that keep failing do not hold up those behind them. Nothing happens when the grant was
    /// recorded again or completed meanwhile.
    /// </summary>
    Task PostponeAsync(GrantRecord grant, DateTimeOffset retryAt, CancellationToken cancellationToken);

    /// <summary>Every recorded, not yet completed grant of <paramref name="groupId"/> to <paramref name="userId"/> (any ticket).</summary>
    Task<IReadOnlyList<GrantRecord>> ActiveAsync(string groupId, string userId, CancellationToken cancellationToken);

    Task CompleteAsync(GrantRecord grant, CancellationToken cancellationToken);
}

/// <param name="Attempts">Failed attempts to end it so far.</param>
/// <param name="RetryAt">When it is due again after the last failed attempt; null while none failed.</param>
public sealed record GrantRecord(TicketRef Ticket, string EntitlementId, string GroupId, string UserId, DateTimeOffset Until, int Attempts = 0, DateTimeOffset? RetryAt = null);

/// <summary>
/// Per-person records of this service: which groups it granted (a mover's old set, SoD against grants the
/// directory may not show yet) and a short lock that serialises decisions spanning tickets for one person.
/// </summary>
public interface IPersonLedger
{
    /// <summary>
    /// Takes the person's lock; null while another worker holds it. The lock carries the groups granted as of the
    /// moment it was taken (read in the same conditional write), so no second read is needed under it.
    /// </summary>
    Task<PersonLock?> TryLockAsync(string personId, string owner, TimeSpan duration, CancellationToken cancellationToken);

    Task ReleaseAsync(PersonLock personLock, CancellationToken cancellationToken);

    /// <summary>Groups this service granted to the person and has not removed since.</summary>
    Task<IReadOnlyList<string>> GrantedAsync(string personId, CancellationToken cancellationToken);

    /// <summary>
    /// Records groups granted to and removed from the person; with <paramref name="releasing"/> (this person's lock, held
    /// by the caller), the same write releases it, so a ticket's last write to the row is one round trip, not two.
    /// Returns the groups recorded as granted before this change.
    /// </summary>
    Task<IReadOnlyList<string>> RecordAsync(string personId, IReadOnlyList<string> added, IReadOnlyList<string> removed, CancellationToken cancellationToken, PersonLock? releasing = null);
}

public sealed record PersonLock(string PersonId, string Owner, string ETag, IReadOnlyList<string> Granted);
