using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Connectors.Storage;

/// <summary>
/// Sliding-window counters (MFA resets per person, destructive operations per window). One row per key: PartitionKey
/// is the SHA-256 of the key (keys may hold any character), RowKey <c>window</c>; the occurrences inside the window are
/// a JSON list. Every change is read → prune → decide → conditional write, retried on conflict, so concurrent callers
/// are serialised per key and a limit is never overshot.
/// </summary>
public sealed class TableCounterStore(TableClient table, ILogger<TableCounterStore> logger) : ICounterStore
{
    private const string RowKey = "window";
    private const string OccurrencesProperty = "Occurrences";

    // One string property holds 32 Ki characters; a long list continues in Occurrences1, Occurrences2, … (an entity
    // may hold 1 MiB, so 15 parts keep well inside it).
    private const int ChunkChars = 30_000;
    private const int MaxChunks = 15;
    private const int MaxOccurrenceIdChars = 128;
    private const int MaxAttempts = 100;

    public async Task<CounterResult> TryRecordAsync(string key, string occurrenceId, int weight, int limit, TimeSpan window, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(occurrenceId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(weight, 1);
        var partition = TableKeys.Sha256Hex(key);
        var id = occurrenceId.Length <= MaxOccurrenceIdChars ? occurrenceId : "~" + TableKeys.Sha256Hex(occurrenceId);
        var windowStart = now - window;

        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            var current = await table.GetEntityIfExistsAsync<TableEntity>(partition, RowKey, cancellationToken: cancellationToken);
            var occurrences = current.HasValue ? Read(current.Value!) : [];
            occurrences.RemoveAll(o => o.At <= windowStart);

            var units = occurrences.Sum(o => o.Units);
            if (occurrences.Exists(o => o.Id == id))
            {
                return new CounterResult(true, units); // recorded before: idempotent
            }

            if (units + weight > limit)
            {
                logger.CounterAtLimit(partition[..12], units, limit, window);
                return new CounterResult(false, units);
            }

            occurrences.Add(new Occurrence(id, now, weight));
            var entity = Write(partition, key, occurrences);
            try
            {
                if (current.HasValue)
                {
                    await table.UpdateEntityAsync(entity, current.Value!.ETag, TableUpdateMode.Replace, cancellationToken);
                }
                else
                {
                    await table.AddEntityAsync(entity, cancellationToken);
                }

                return new CounterResult(true, units);
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412 or 404)
            {
                logger.CounterContention(partition[..12], attempt);

                // Real-time jitter, not TimeProvider: this spreads competing writers apart, it is not business time.
                await Task.Delay(Random.Shared.Next(1, 5 + (4 * Math.Min(attempt, 10))), cancellationToken);
            }
        }

        throw new InvalidOperationException($"Counter {partition[..12]} stayed contended for {MaxAttempts} attempts.");
    }

    private static List<Occurrence> Read(TableEntity entity)
    {
        var json = new StringBuilder(entity.GetString(OccurrencesProperty));
        for (var i = 1; entity.GetString(OccurrencesProperty + i) is { } part; i++)
        {
            json.Append(part);
        }

        return json.Length == 0 ? [] : JsonSerializer.Deserialize<List<Occurrence>>(json.ToString(), StorageJson.Options) ?? [];
    }

    private static TableEntity Write(string partition, string key, List<Occurrence> occurrences)
    {
        var json = JsonSerializer.Serialize(occurrences, StorageJson.Options);
        var chunks = (json.Length + ChunkChars - 1) / ChunkChars;
        if (chunks > MaxChunks)
        {
            throw new InvalidOperationException($"Counter {partition[..12]} would hold {occurrences.Count} occurrences, more than one row can store; use a smaller limit or window.");
        }

        // The key is kept for people reading the table; the hash in the PartitionKey is what identifies the counter.
        var entity = new TableEntity(partition, RowKey) { ["Key"] = TableKeys.Cap(key), ["Count"] = occurrences.Sum(o => o.Units) };
        for (var i = 0; i < chunks; i++)
        {
            var part = json.Substring(i * ChunkChars, Math.Min(ChunkChars, json.Length - (i * ChunkChars)));
            entity[i == 0 ? OccurrencesProperty : OccurrencesProperty + i] = part;
        }

        return entity;
    }

    /// <summary>One recorded occurrence; <see cref="Weight"/> units (absent in rows written before weights: 1).</summary>
    private sealed record Occurrence(string Id, DateTimeOffset At, int? Weight = null)
    {
        public int Units => Weight ?? 1;
    }
}
