using Azure;
using Azure.Data.Tables;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Connectors.Storage;

/// <summary>
/// Webhook deliveries seen, so a retried delivery is queued once and a duplicate is dropped. PartitionKey is the
/// ticket system, RowKey the delivery id (or <c>~</c> + its SHA-256 when it has characters a key may not hold).
/// A delivery is <c>Received</c> until its work item is durably queued, then <c>Queued</c>.
/// </summary>
public sealed class TableDeliveryLedger(TableClient table, TimeProvider time, ILogger<TableDeliveryLedger> logger, int retentionDays = 7)
    : IDeliveryLedger
{
    public const string Received = "Received";
    public const string Queued = "Queued";

    public async Task<DeliveryStatus> RecordAsync(TicketSystemKind system, string deliveryId, string ticketKey, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(deliveryId);
        var (partition, row) = Keys(system, deliveryId);

        // A record purged between the insert and the read is simply inserted again: at most two rounds.
        for (var attempt = 0; ; attempt++)
        {
            var entity = new TableEntity(partition, row)
            {
                ["State"] = Received,
                ["DeliveryId"] = TableKeys.Cap(deliveryId),
                ["TicketKey"] = TableKeys.Cap(ticketKey),
                ["ReceivedAt"] = time.GetUtcNow(),
            };
            try
            {
                await table.AddEntityAsync(entity, cancellationToken);
                logger.DeliveryRecorded(deliveryId, partition, ticketKey, nameof(DeliveryStatus.New));
                return DeliveryStatus.New;
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                var existing = await table.GetEntityIfExistsAsync<TableEntity>(partition, row, ["State"], cancellationToken);
                if (!existing.HasValue && attempt == 0)
                {
                    continue;
                }

                var status = existing.HasValue && existing.Value!.GetString("State") == Queued ? DeliveryStatus.AlreadyQueued : DeliveryStatus.NotYetQueued;
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
