using Microsoft.Extensions.Logging;

namespace IamFulfillment.Connectors.Storage;

/// <summary>Storage log events (ids 4000-4099). Tickets by key, people never; connection strings and keys never.</summary>
internal static partial class StorageLog
{
    [LoggerMessage(4001, LogLevel.Debug, "Lease on {Ticket} taken by {Owner} until {LeaseUntil:O}")]
    public static partial void LeaseTaken(this ILogger logger, string ticket, string owner, DateTimeOffset leaseUntil);

    [LoggerMessage(4002, LogLevel.Debug, "Lease on {Ticket} is held by {Holder} until {LeaseUntil:O}")]
    public static partial void LeaseBusy(this ILogger logger, string ticket, string holder, DateTimeOffset? leaseUntil);

    [LoggerMessage(4003, LogLevel.Debug, "Lease on {Ticket} changed while taking it (attempt {Attempt}); reading it again")]
    public static partial void LeaseContention(this ILogger logger, string ticket, int attempt);

    [LoggerMessage(4004, LogLevel.Warning, "Checkpoint of {Ticket} refused: the lease was lost to another worker (status {Status})")]
    public static partial void LeaseLost(this ILogger logger, string ticket, int status);

    [LoggerMessage(4005, LogLevel.Debug, "Checkpoint of {Ticket}: {Events} audit event(s) in {Transactions} transaction(s), audit sequence {Sequence}")]
    public static partial void CheckpointSaved(this ILogger logger, string ticket, int events, int transactions, long sequence);

    [LoggerMessage(4006, LogLevel.Information, "Checkpoint of {Ticket}: its answer was lost and the storage client's retry met status {Status}, but the row holds exactly what was written: the checkpoint landed")]
    public static partial void CheckpointLandedUnanswered(this ILogger logger, string ticket, int status);

    [LoggerMessage(4010, LogLevel.Debug, "Delivery {DeliveryId} from {System} for {TicketKey}: {Status}")]
    public static partial void DeliveryRecorded(this ILogger logger, string deliveryId, string system, string ticketKey, string status);

    [LoggerMessage(4011, LogLevel.Information, "Purged {Count} delivery record(s) last written before {Cutoff:O}")]
    public static partial void DeliveriesPurged(this ILogger logger, int count, DateTimeOffset cutoff);

    [LoggerMessage(4020, LogLevel.Debug, "Counter {CounterId} changed concurrently (attempt {Attempt}); reading it again")]
    public static partial void CounterContention(this ILogger logger, string counterId, int attempt);

    [LoggerMessage(4021, LogLevel.Information, "Counter {CounterId} is at its limit: {Count} of {Limit} within {Window}")]
    public static partial void CounterAtLimit(this ILogger logger, string counterId, int count, int limit, TimeSpan window);

    [LoggerMessage(4025, LogLevel.Debug, "Grant registry: {Action} {Ticket} group {GroupId} user {UserId} until {Until:O}")]
    public static partial void GrantChanged(this ILogger logger, string action, string ticket, string groupId, string userId, DateTimeOffset until);

    [LoggerMessage(4030, LogLevel.Debug, "Queued work for {Ticket} ({Reason}, attempt {Attempt}) as message {MessageId}, visible in {Delay}")]
    public static partial void WorkQueued(this ILogger logger, string ticket, string reason, int attempt, string messageId, TimeSpan delay);

    [LoggerMessage(4031, LogLevel.Warning, "Delay of {Requested} for {Ticket} is longer than the queue allows; it becomes visible after {Max} and the consumer must queue it again")]
    public static partial void DelayClamped(this ILogger logger, string ticket, TimeSpan requested, TimeSpan max);

    [LoggerMessage(4040, LogLevel.Warning, "Storage is unavailable ({Component}: status {Status}, {ErrorCode})")]
    public static partial void StorageUnavailable(this ILogger logger, string component, int status, string? errorCode);

    [LoggerMessage(4050, LogLevel.Information, "Storage ready: tables {Tables} and queue {Queue} exist ({ElapsedMs} ms)")]
    public static partial void StorageEnsured(this ILogger logger, string tables, string queue, long elapsedMs);
}
