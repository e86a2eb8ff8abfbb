using Azure;
using Azure.Data.Tables;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Connectors.Storage;

/// <summary>
/// Webhook deliveries seen, so a retried delivery is queued once and a duplicate is dropped. PartitionKey is the
/// ticket system, RowKey the delivery id (or <c>~</c> + its SHA-256 when it has characters a key may not hold).
/// A delivery is <c>Received</c> until its work item is durably queued, then <c>Queued</c>; one recorded after its item
/// was queued is <c>Queued</c> from the start.
/// </summary>
public sealed class TableDeliveryLedger(TableClient table, TimeProvider time, ILogger<TableDeliveryLedger> logger, int retentionDays = 7)
    : IDeliveryLedger
{
    public const string Received = "Received";
    public const string Queued = "Queued";
    private const string AttemptProperty = "QueuedBy";

    public Task<DeliveryStatus> RecordAsync(TicketSystemKind system, string deliveryId, string ticketKey, CancellationToken cancellationToken) =>
        InsertAsync(system, deliveryId, ticketKey, queued: false, cancellationToken);

    /// <summary>
    /// One write for a delivery whose item is already durably queued: the row is created <c>Queued</c>. It carries an
    /// id of this attempt, so an insert whose answer was lost (the client's retry meets it: 409) is known for this
    /// delivery's own and not taken for a duplicate, which would withdraw the only message.
    /// </summary>
    public Task<DeliveryStatus> RecordQueuedAsync(TicketSystemKind system, string deliveryId, string ticketKey, CancellationToken cancellationToken) =>
        InsertAsync(system, deliveryId, ticketKey, queued: true, cancellationToken);

    private async Task<DeliveryStatus> InsertAsync(TicketSystemKind system, string deliveryId, string ticketKey, bool queued, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(deliveryId);
        var (partition, row) = Keys(system, deliveryId);
        var attempt = queued ? Guid.NewGuid().ToString("N") : null;

        // A record purged between the insert and the read is simply inserted again: at most two rounds.
        for (var round = 0; ; round++)
        {
            var now = time.GetUtcNow();
            var entity = new TableEntity(partition, row)
            {
                ["State"] = queued ? Queued : Received,
                ["DeliveryId"] = TableKeys.Cap(deliveryId),
                ["TicketKey"] = TableKeys.Cap(ticketKey),
                ["ReceivedAt"] = now,
            };
            if (queued)
            {
                entity["QueuedAt"] = now;
                entity[AttemptProperty] = attempt;
            }

            try
            {
                await table.AddEntityAsync(entity, cancellationToken);
                logger.DeliveryRecorded(deliveryId, partition, ticketKey, nameof(DeliveryStatus.New));
                return DeliveryStatus.New;
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                var existing = await table.GetEntityIfExistsAsync<TableEntity>(partition, row, ["State", AttemptProperty], cancellationToken);
                if (!existing.HasValue && round == 0)
                {
                    continue;
                }

                var status = !existing.HasValue ? DeliveryStatus.NotYetQueued
                    : attempt is not null && existing.Value!.GetString(AttemptProperty) == attempt ? DeliveryStatus.New
                    : existing.Value!.GetString("State") == Queued ? DeliveryStatus.AlreadyQueued
                    : DeliveryStatus.NotYetQueued;
                if (queued && status == DeliveryStatus.NotYetQueued)
                {
                    // An earlier attempt recorded it without queuing its item; this one's item is queued.
                    await MarkQueuedAsync(system, deliveryId, cancellationToken);
                }

                logger.DeliveryRecorded(deliveryId, partition, ticketKey, status.ToString());
                return status;
            }
        }
    }

    public async Task MarkQueuedAsync(TicketSystemKind system, string deliveryId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(deliveryId);
        var (partition, row) = Keys(system, deliveryId);
        var entity = new TableEntity(partition, row) { ["State"] = Queued, ["QueuedAt"] = time.GetUtcNow() };
        await table.UpsertEntityAsync(entity, TableUpdateMode.Merge, cancellationToken);
    }

    /// <summary>Deletes the records of deliveries not written to for the retention period (<see cref="StorageOptions.DeliveryRetentionDays"/>); for a timer.</summary>
    public Task<int> PurgeExpiredAsync(CancellationToken cancellationToken) =>
        PurgeOlderThanAsync(time.GetUtcNow() - TimeSpan.FromDays(retentionDays), cancellationToken);

    /// <summary>
    /// Deletes delivery records last written (the service's <c>Timestamp</c>) before <paramref name="cutoff"/>. A delivery
    /// retried after its record is gone counts as new again; processing is idempotent, so that costs one extra round.
    /// </summary>
    public async Task<int> PurgeOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"Timestamp lt {cutoff.ToUniversalTime()}");
        var purged = 0;
        var batch = new List<TableEntity>();
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken))
        {
            if (batch.Count == 100 || (batch.Count > 0 && batch[0].PartitionKey != entity.PartitionKey))
            {
                purged += await DeleteAsync(batch, cancellationToken);
                batch.Clear();
            }

            batch.Add(entity);
        }

        if (batch.Count > 0)
        {
            purged += await DeleteAsync(batch, cancellationToken);
        }

        logger.DeliveriesPurged(purged, cutoff);
        return purged;
    }

    /// <summary>One transaction per partition and 100 rows; if a row changed meanwhile (a retry arrived), delete the rest one by one.</summary>
    private async Task<int> DeleteAsync(List<TableEntity> rows, CancellationToken cancellationToken)
    {
        try
        {
            await table.SubmitTransactionAsync(rows.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, r, r.ETag)), cancellationToken);
            return rows.Count;
        }
        catch (TableTransactionFailedException)
        {
            var deleted = 0;
            foreach (var row in rows)
            {
                try
                {
                    await table.DeleteEntityAsync(row.PartitionKey, row.RowKey, row.ETag, cancellationToken);
                    deleted++;
                }
                catch (RequestFailedException ex) when (ex.Status is 404 or 412)
                {
                    // Gone already, or written again since the query: keep it.
                }
            }

            return deleted;
        }
    }

    internal static (string Partition, string Row) Keys(TicketSystemKind system, string deliveryId) =>
        (system.ToString(), TableKeys.ReadableOrHash(deliveryId));
}
