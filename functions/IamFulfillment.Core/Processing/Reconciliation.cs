using IamFulfillment.Core.Intake;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Core.Processing;

/// <summary>
/// The safety net under the webhooks: finds tickets a person changed lately that the service has not looked at since
/// (their webhook was lost, refused while storage was down, or the ITSM gave up sending it) and queues them as a
/// webhook would have. Queuing one twice is harmless: a run that finds nothing new in the ticket changes nothing.
/// </summary>
public sealed partial class Reconciliation(
    IEnumerable<ITicketSystem> systems,
    ITicketStore store,
    IWorkQueue queue,
    IWorkSignal signal,
    IntakeOptions intake,
    TimeProvider time,
    ILogger<Reconciliation> logger)
{
    /// <summary>The work item reason of a ticket this sweep queued (<see cref="WorkItem.Reason"/>).</summary>
    public const string Reason = "reconciliation";

    /// <summary>Changed tickets asked for at once.</summary>
    public const int MaxPerSystem = 500;

    /// <summary>Slices one sweep takes per ticket system at most; what is left waits for the next sweep.</summary>
    private const int MaxSlices = 10;

    /// <summary>
    /// Looks at tickets changed in the last <paramref name="lookBack"/> in every ticket system and queues those the
    /// service last recorded before their change (or never saw). Returns how many were queued. A system that cannot be
    /// searched is logged and skipped; the others are still swept.
    /// </summary>
    public async Task<int> SweepAsync(TimeSpan lookBack, CancellationToken cancellationToken)
    {
        var since = time.GetUtcNow() - lookBack;
        var queued = 0;
        try
        {
            foreach (var system in systems)
            {
                try
                {
                    queued += await SweepAsync(system, since, cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    // Storage failing mid-sweep: what was queued stays queued; the next sweep looks again.
                    LogSweepFailed(logger, system.Kind, ex.GetType().Name, ex.Message);
                }
            }
        }
        finally
        {
            if (queued > 0)
            {
                signal.Notify();
            }
        }

        return queued;
    }

    /// <summary>One system, in slices of <see cref="MaxPerSystem"/> changes, oldest first, so a busy system's newer changes are reached too.</summary>
    private async Task<int> SweepAsync(ITicketSystem system, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var queued = 0;
        for (var slice = 0; slice < MaxSlices; slice++)
        {
            ChangedTickets changes;
            try
            {
                changes = await system.FindChangedAsync(since, MaxPerSystem, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogSearchFailed(logger, system.Kind, ex.GetType().Name, ex.Message);
                return queued;
            }

            foreach (var change in changes)
            {
                if (await MissedAsync(system.Kind, change, cancellationToken))
                {
                    await queue.EnqueueAsync(new WorkItem { System = system.Kind, TicketKey = change.Key, ReceivedAt = change.ChangedAt, Reason = Reason }, null, cancellationToken);
                    LogQueued(logger, new TicketRef(system.Kind, change.Key), change.ChangedAt);
                    queued++;
                }
            }

            // More to come: go on from the last change (that moment's tickets are looked at again, which is harmless).
            if (!changes.More)
            {
                return queued;
            }

            if (changes.Count == 0 || changes[^1].ChangedAt <= since)
            {
                // A whole slice changed at one moment (ServiceNow counts whole seconds): the rest of it cannot be reached.
                LogCapped(logger, system.Kind, (slice + 1) * MaxPerSystem, since);
                return queued;
            }

            since = changes[^1].ChangedAt;
        }

        LogCapped(logger, system.Kind, MaxSlices * MaxPerSystem, since);
        return queued;
    }

    /// <summary>
    /// Whether the change may not have been seen: the service has no record of the ticket, or last wrote its record
    /// before the change (its own write-back ends with that record, so a change it made itself does not count).
    /// </summary>
    private async Task<bool> MissedAsync(TicketSystemKind kind, TicketChange change, CancellationToken cancellationToken)
    {
        if (kind == TicketSystemKind.Jira && !intake.TakesJiraRequest(change.ServiceDeskId, change.RequestTypeId, out _))
        {
            return false; // intake would have ignored its webhook too
        }

        var state = await store.GetAsync(new TicketRef(kind, change.Key), cancellationToken);
        return state?.LastWrittenAt is not { } written || written < change.ChangedAt;
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Reconciliation queued {Ticket}: changed at {ChangedAt:O}, not looked at since")]
    private static partial void LogQueued(ILogger logger, TicketRef ticket, DateTimeOffset changedAt);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Warning, Message = "Reconciliation could not search {System} ({Error}: {Detail}); tried again at the next sweep")]
    private static partial void LogSearchFailed(ILogger logger, TicketSystemKind system, string error, string detail);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Warning, Message = "Reconciliation of {System} stopped ({Error}: {Detail}); tried again at the next sweep")]
    private static partial void LogSweepFailed(ILogger logger, TicketSystemKind system, string error, string detail);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Warning, Message = "Reconciliation looked at {Max} changed tickets in {System} this sweep; those changed after {Until:O} wait for the next sweep")]
    private static partial void LogCapped(ILogger logger, TicketSystemKind system, int max, DateTimeOffset until);
}
