using System.Globalization;
using Azure;
using Azure.Data.Tables;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Connectors.Storage;

/// <summary>
/// Time-bound grants, in one partition <c>grants</c> with two kinds of row:
/// <list type="bullet">
/// <item><c>due|{Until (or RetryAt, once an attempt failed) as UTC ticks, 19 digits}|{ticket}|{group}|{user}</c>: sorted by
/// when it is due, so <see cref="DueAsync"/> is one range query;</item>
/// <item><c>key|{ticket}|{group}|{user}</c>: the current expiry of that grant, so recording it again with another end date
/// moves its due row (in the same transaction) instead of leaving the old one to remove access early.</item>
/// </list>
/// Key parts are kept verbatim when plain (Entra object ids, ticket keys) and hashed otherwise; the row's properties
/// hold the full values.
/// </summary>
public sealed class TableGrantRegistry(TableClient table, ILogger<TableGrantRegistry> logger) : IGrantRegistry
{
    internal const string Partition = "grants";
    private const int MaxAttempts = 5;

    public async Task RecordAsync(GrantRecord grant, CancellationToken cancellationToken)
    {
        var indexKey = IndexRowKey(grant);
        var due = ToEntity(DueRowKey(grant), grant);
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            var index = await table.GetEntityIfExistsAsync<TableEntity>(Partition, indexKey, cancellationToken: cancellationToken);
            var actions = new List<TableTransactionAction> { new(TableTransactionActionType.UpsertReplace, due) };
            if (!index.HasValue)
            {
                actions.Add(new(TableTransactionActionType.Add, ToEntity(indexKey, grant)));
            }
            else
            {
                var previous = ToGrant(index.Value!);
                actions.Add(new(TableTransactionActionType.UpdateReplace, ToEntity(indexKey, grant), index.Value!.ETag));
                if (DueRowKey(previous) != DueRowKey(grant)
                    && (await table.GetEntityIfExistsAsync<TableEntity>(Partition, DueRowKey(previous), ["RowKey"], cancellationToken)).HasValue)
                {
                    actions.Add(new(TableTransactionActionType.Delete, new TableEntity(Partition, DueRowKey(previous)), ETag.All));
                }
            }

            try
            {
                await table.SubmitTransactionAsync(actions, cancellationToken);
                logger.GrantChanged("recorded", grant.Ticket.ToString(), grant.GroupId, grant.UserId, grant.Until);
                return;
            }
            catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412 or 404)
            {
                // Recorded or completed concurrently: read again.
            }
        }

        throw new InvalidOperationException($"The grant of {grant.Ticket} for group {grant.GroupId} stayed contended for {MaxAttempts} attempts.");
    }

    public async Task<IReadOnlyList<GrantRecord>> DueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        var upper = "due|" + Ticks(now.UtcTicks + 1);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Partition} and RowKey ge {"due|"} and RowKey lt {upper}");
        var due = new List<GrantRecord>();
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(max, 1000), cancellationToken: cancellationToken))
        {
            due.Add(ToGrant(entity));
            if (due.Count == max)
            {
                break;
            }
        }

        return due;
    }

    public async Task PostponeAsync(GrantRecord grant, DateTimeOffset retryAt, CancellationToken cancellationToken)
    {
        var postponed = grant with { Attempts = grant.Attempts + 1, RetryAt = retryAt };
        if (DueRowKey(postponed) == DueRowKey(grant))
        {
            return;
        }

        var index = await table.GetEntityIfExistsAsync<TableEntity>(Partition, IndexRowKey(grant), cancellationToken: cancellationToken);
        var actions = new List<TableTransactionAction>
        {
            new(TableTransactionActionType.Delete, new TableEntity(Partition, DueRowKey(grant)), ETag.All),
            new(TableTransactionActionType.Add, ToEntity(DueRowKey(postponed), postponed)),
        };
        if (index.HasValue)
        {
            if (ToGrant(index.Value!) is var current && (current.Until.UtcTicks != grant.Until.UtcTicks || current.RetryAt != grant.RetryAt))
            {
                return; // recorded again meanwhile: its due row was moved with it
            }

            actions.Add(new(TableTransactionActionType.UpdateReplace, ToEntity(IndexRowKey(grant), postponed), index.Value!.ETag));
        }

        try
        {
            await table.SubmitTransactionAsync(actions, cancellationToken);
            logger.GrantChanged($"postponed to {retryAt:O} after {postponed.Attempts} failed attempt(s)", grant.Ticket.ToString(), grant.GroupId, grant.UserId, grant.Until);
        }
        catch (TableTransactionFailedException ex) when (ex.Status is 404 or 409 or 412)
        {
            // Completed, recorded again or postponed by another sweep meanwhile: the next sweep reads it as it is now.
        }
    }

    /// <summary>The index rows of one group and user: a filtered read of the grants partition.</summary>
    public async Task<IReadOnlyList<GrantRecord>> ActiveAsync(string groupId, string userId, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Partition} and RowKey ge {"key|"} and RowKey lt {"key}"} and GroupId eq {groupId} and UserId eq {userId}");
        var active = new List<GrantRecord>();
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            active.Add(ToGrant(entity));
        }

        return active;
    }

    public async Task CompleteAsync(GrantRecord grant, CancellationToken cancellationToken)
    {
        await DeleteIgnoringMissingAsync(DueRowKey(grant), ETag.All, cancellationToken);

        // The index goes only if it still describes this expiry (it was not re-recorded with another end date).
        var index = await table.GetEntityIfExistsAsync<TableEntity>(Partition, IndexRowKey(grant), cancellationToken: cancellationToken);
        if (index.HasValue && ToGrant(index.Value!).Until.UtcTicks == grant.Until.UtcTicks)
        {
            await DeleteIgnoringMissingAsync(IndexRowKey(grant), index.Value!.ETag, cancellationToken);
        }

        logger.GrantChanged("completed", grant.Ticket.ToString(), grant.GroupId, grant.UserId, grant.Until);
    }

    private async Task DeleteIgnoringMissingAsync(string rowKey, ETag etag, CancellationToken cancellationToken)
    {
        try
        {
            await table.DeleteEntityAsync(Partition, rowKey, etag, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            // Already gone, or re-recorded meanwhile.
        }
    }

    internal static string DueRowKey(GrantRecord grant) => $"due|{Ticks((grant.RetryAt ?? grant.Until).UtcTicks)}|{Identity(grant)}";

    internal static string IndexRowKey(GrantRecord grant) => $"key|{Identity(grant)}";

    private static string Identity(GrantRecord grant) =>
        $"{TableKeys.ReadableOrHash(grant.Ticket.StorageKey)}|{TableKeys.ReadableOrHash(grant.GroupId)}|{TableKeys.ReadableOrHash(grant.UserId)}";

    private static string Ticks(long ticks) => ticks.ToString("D19", CultureInfo.InvariantCulture);

    private static TableEntity ToEntity(string rowKey, GrantRecord grant)
    {
        var entity = new TableEntity(Partition, rowKey)
        {
            ["System"] = grant.Ticket.System.ToString(),
            ["TicketKey"] = grant.Ticket.Key,
            ["EntitlementId"] = grant.EntitlementId,
            ["GroupId"] = grant.GroupId,
            ["UserId"] = grant.UserId,
            ["Until"] = grant.Until.ToUniversalTime(),
            ["UntilTicks"] = grant.Until.UtcTicks,
        };
        if (grant.RetryAt is { } retryAt)
        {
            entity["Attempts"] = grant.Attempts;
            entity["RetryAt"] = retryAt.ToUniversalTime();
            entity["RetryAtTicks"] = retryAt.UtcTicks;
        }

        return entity;
    }

    private static GrantRecord ToGrant(TableEntity entity)
    {
        var system = Enum.TryParse<TicketSystemKind>(entity.GetString("System"), out var parsed) && Enum.IsDefined(parsed)
            ? parsed
            : throw new InvalidDataException($"Grant row {entity.RowKey} has an unknown System.");
        return new GrantRecord(
            new TicketRef(system, entity.GetString("TicketKey") ?? ""),
            entity.GetString("EntitlementId") ?? "",
            entity.GetString("GroupId") ?? "",
            entity.GetString("UserId") ?? "",
            new DateTimeOffset(entity.GetInt64("UntilTicks") ?? entity.GetDateTimeOffset("Until")!.Value.UtcTicks, TimeSpan.Zero),
            entity.GetInt32("Attempts") ?? 0,
            entity.GetInt64("RetryAtTicks") is { } retryAt ? new DateTimeOffset(retryAt, TimeSpan.Zero) : null);
    }
}
