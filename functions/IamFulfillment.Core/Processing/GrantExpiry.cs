using System.Globalization;
using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Fulfilment;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Core.Processing;

/// <summary>
/// Removes time-bound grants when they end, records the removal in the ticket's audit trail and tells the ticket.
/// Access granted "temporarily" never outlives its end date.
/// </summary>
public sealed partial class GrantExpiry(
    IGrantRegistry registry,
    IDirectory directory,
    ITicketStore store,
    ITicketSystems systems,
    IPersonLedger persons,
    ProcessingOptions options,
    TimeProvider time,
    ILogger<GrantExpiry> logger)
{
    /// <summary>Handles the grants due now; returns how many were removed.</summary>
    public async Task<int> SweepAsync(int max, CancellationToken cancellationToken)
    {
        var due = await registry.DueAsync(time.GetUtcNow(), max, cancellationToken);
        var removed = 0;
        foreach (var grant in due)
        {
            var lease = await store.TryAcquireAsync(grant.Ticket, options.NewLeaseHolder(), options.LeaseDuration, cancellationToken);
            if (!lease.Acquired)
            {
                continue; // the ticket is being processed; the next sweep takes it
            }

            var state = lease.State!;
            var buffer = new AuditBuffer(grant.Ticket, time);
            buffer.Reset(state);
            buffer.Round = state.Round;
            try
            {
                var active = await registry.ActiveAsync(grant.GroupId, grant.UserId, cancellationToken);

                // Read before the lease was taken: another sweep (another instance) may have ended or postponed it since,
                // or the ticket recorded it again with another end date. Only the grant as registered now is acted on.
                var current = active.FirstOrDefault(g => g.Ticket == grant.Ticket);
                if (current is null || current.Until != grant.Until || current.RetryAt != grant.RetryAt)
                {
                    if (current is null)
                    {
                        await registry.CompleteAsync(grant, cancellationToken); // ended meanwhile: a due row left behind goes too
                    }

                    await buffer.SaveAsync(store, Released(state), cancellationToken);
                    continue;
                }

                // Another ticket may grant the same group to the same person for longer: then this one just ends.
                var others = active.Where(g => g.Ticket != grant.Ticket && g.Until > time.GetUtcNow()).ToList();
                if (others.Count > 0)
                {
                    buffer.Add(AuditKinds.GrantExpired, ("entitlement", grant.EntitlementId), ("group", grant.GroupId), ("user", grant.UserId),
                        ("until", grant.Until.ToString("O", CultureInfo.InvariantCulture)), ("status", "kept"),
                        ("keptBy", string.Join(",", others.Select(o => $"{o.Ticket}@{o.Until:O}"))));
                    await registry.CompleteAsync(grant, cancellationToken);
                    await buffer.SaveAsync(store, Released(state), cancellationToken);
                    continue;
                }

                // A retry after the removal went through but the ticket could not be told only tells it: removing again
                // could take away the same group granted since (by a ticket without an end date).
                var earlier = grant.Attempts > 0 ? await RemovedEarlierAsync(grant, cancellationToken) : null;
                var result = earlier ?? await directory.ApplyAsync(new RemoveMember(grant.GroupId, grant.UserId, grant.EntitlementId), cancellationToken);
                if (!result.Succeeded)
                {
                    await TellNotRemovedAsync(grant, result, buffer, cancellationToken);
                    await registry.PostponeAsync(grant, RetryAt(grant), cancellationToken);
                }
                else
                {
                    if (earlier is null)
                    {
                        buffer.Add(AuditKinds.GrantExpired, ("entitlement", grant.EntitlementId), ("group", grant.GroupId), ("user", grant.UserId),
                            ("until", grant.Until.ToString("O", CultureInfo.InvariantCulture)), ("status", result.Status.ToString()), ("requestId", result.RequestId));
                    }

                    // Also after an earlier removal: its attempt may have failed before this record (which is idempotent).
                    await persons.RecordAsync(grant.UserId, [], [grant.GroupId], cancellationToken);

                    var system = systems.For(grant.Ticket.System);
                    TicketSnapshot? snapshot;
                    try
                    {
                        snapshot = await system.ReadAsync(grant.Ticket.Key, cancellationToken);
                    }
                    catch (TicketNotFoundException)
                    {
                        // Deleted from the ITSM: the removal stands in the trail; there is no one to tell.
                        LogTicketGone(logger, grant.Ticket.ToString(), grant.GroupId);
                        snapshot = null;
                    }

                    var marker = $"[iamf:expiry:{grant.GroupId}:{grant.Until.ToUnixTimeSeconds()}]";
                    if (snapshot is not null && !await system.ShowsMarkerAsync(snapshot, marker, cancellationToken))
                    {
                        await system.WriteBackAsync(snapshot, new WriteBack
                        {
                            Outcome = Outcome.Fulfilled,
                            CustomerComment = $"The time-bound access to {grant.EntitlementId} granted by {snapshot.Number} ended on {grant.Until:yyyy-MM-dd} and was removed.",
                            InternalNote = $"EXPIRED — removed user {grant.UserId} from group {grant.GroupId} ({grant.EntitlementId}): {result.Status}{(result.RequestId is null ? "" : $", Graph request-id {result.RequestId}")}.",
                            Marker = marker,
                            ChangeState = false,

                            // A sweep that broke off after part of this write-back must not post that part again.
                            Resume = true,
                        }, cancellationToken);
                    }

                    await registry.CompleteAsync(grant, cancellationToken);
                    removed++;
                }

                await buffer.SaveAsync(store, Released(state), cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFailed(logger, grant.Ticket.ToString(), grant.GroupId, TicketProcessor.Describe(ex), RetryAt(grant));
                try
                {
                    await registry.PostponeAsync(grant, RetryAt(grant), CancellationToken.None);
                }
                catch (Exception)
                {
                    // Then it stays due and the next sweep tries it again.
                }

                try
                {
                    // With the events a failed save put back: the removal is recorded even when its first save failed.
                    await buffer.SaveAsync(store, Released(state), CancellationToken.None);
                }
                catch (Exception)
                {
                    // The lease expires by itself; the grant stays due and is retried by the next sweep.
                }
            }
        }

        return removed;
    }

    /// <summary>
    /// Access that should have ended is still there (the group became role-assignable or synchronised from
    /// on-premises, the service's rights changed): people must know. The trail gets an event and the ticket an internal
    /// note, each once; the log says so at every attempt. The sweep keeps trying, less and less often (see <see cref="RetryAt"/>),
    /// and records the removal when it goes through.
    /// The event is recorded before the ticket is written to, so a ticket that cannot be written leaves the refusal in
    /// the trail all the same. The ticket stays as it is: reopening a finished request would have it decided again.
    /// </summary>
    private async Task TellNotRemovedAsync(GrantRecord grant, ChangeResult result, AuditBuffer buffer, CancellationToken cancellationToken)
    {
        LogNotRemoved(logger, grant.Ticket.ToString(), grant.GroupId, grant.UserId, result.Status.ToString(), RetryAt(grant));
        var until = grant.Until.ToString("O", CultureInfo.InvariantCulture);
        var marker = $"[iamf:expiry-refused:{grant.GroupId}:{grant.Until.ToUnixTimeSeconds()}]";
        var recorded = (await store.ReadTrailAsync(grant.Ticket, cancellationToken)).Any(e => e.Kind == AuditKinds.GrantExpired
            && e.Data.GetValueOrDefault("group") == grant.GroupId && e.Data.GetValueOrDefault("until") == until && e.Data.GetValueOrDefault("told") == marker);
        if (!recorded)
        {
            buffer.Add(AuditKinds.GrantExpired, ("entitlement", grant.EntitlementId), ("group", grant.GroupId), ("user", grant.UserId),
                ("until", until), ("status", result.Status.ToString()), ("requestId", result.RequestId), ("detail", result.Detail), ("told", marker));
        }

        var system = systems.For(grant.Ticket.System);
        var snapshot = await system.ReadAsync(grant.Ticket.Key, cancellationToken);
        if (await system.ShowsMarkerAsync(snapshot, marker, cancellationToken))
        {
            return; // told at an earlier sweep
        }

        await system.WriteBackAsync(snapshot, new WriteBack
        {
            Outcome = Outcome.Escalated,
            InternalNote = $"ESCALATION — needs a person (queue: {QueueKinds.Privileged})\n" +
                           $"The time-bound access to {grant.EntitlementId} granted by {snapshot.Number} ended on {grant.Until:yyyy-MM-dd}, " +
                           $"but the service could not remove user {grant.UserId} from group {grant.GroupId}: {result.Status}" +
                           $"{(string.IsNullOrWhiteSpace(result.Detail) ? "" : $" ({result.Detail})")}{(result.RequestId is null ? "" : $", Graph request-id {result.RequestId}")}.\n" +
                           "The access is still there. Remove it by hand, or change what stops the service (its sweep keeps trying and notes here when the removal goes through).",
            Marker = marker,
            ChangeState = false,
            Resume = true,
        }, cancellationToken);
    }

    private static TicketState Released(TicketState state) => state with { LeaseOwner = null, LeaseUntil = null };

    /// <summary>The removal an earlier attempt made and recorded in the ticket's trail (a refusal does not count), if any.</summary>
    private async Task<ChangeResult?> RemovedEarlierAsync(GrantRecord grant, CancellationToken cancellationToken)
    {
        var until = grant.Until.ToString("O", CultureInfo.InvariantCulture);
        var removal = (await store.ReadTrailAsync(grant.Ticket, cancellationToken)).LastOrDefault(e => e.Kind == AuditKinds.GrantExpired
            && e.Data.GetValueOrDefault("group") == grant.GroupId && e.Data.GetValueOrDefault("until") == until
            && !e.Data.ContainsKey("told") && e.Data.GetValueOrDefault("status") != "kept");
        return removal is null ? null : new ChangeResult(
            Enum.TryParse<ChangeStatus>(removal.Data.GetValueOrDefault("status"), out var status) ? status : ChangeStatus.Applied,
            removal.Data.GetValueOrDefault("requestId"), "removed by an earlier attempt");
    }

    /// <summary>
    /// When a grant whose removal failed is tried again: 15 minutes after the first failure, doubling up to a day. A grant
    /// that keeps failing (a refused removal, a ticket deleted from the ITSM) is postponed, so it cannot hold up the
    /// expiries behind it, which a sweep takes soonest first and only so many at a time.
    /// </summary>
    private DateTimeOffset RetryAt(GrantRecord grant) =>
        time.GetUtcNow() + TimeSpan.FromMinutes(Math.Min(15 * Math.Pow(2, Math.Min(grant.Attempts, 16)), 24 * 60));

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Expired grant of group {GroupId} to user {UserId} on ticket {Ticket} could not be removed ({Status}): a person must remove it; tried again at {RetryAt:O}")]
    private static partial void LogNotRemoved(ILogger logger, string ticket, string groupId, string userId, string status, DateTimeOffset retryAt);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "Expired grant of group {GroupId} was removed, but its ticket {Ticket} no longer exists in the ITSM: recorded in the trail only")]
    private static partial void LogTicketGone(ILogger logger, string ticket, string groupId);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Expiry of group {GroupId} on ticket {Ticket} failed ({Failure}); tried again at {RetryAt:O}")]
    private static partial void LogFailed(ILogger logger, string ticket, string groupId, string failure, DateTimeOffset retryAt);
}
