using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Connectors.Storage;

/// <summary>
/// Sliding-window counters (MFA resets per person, destructive operations per window). One row per key: PartitionKey
/// is the SHA-256 of the key (keys may hold any character), RowKey <c>window</c>; the occurrences inside the window are
/// a JSON list. Every change is read → prune → decide → conditional write, retried on conflict, so concurrent callers
/// are serialised per key and a limit is never overshot.
/// </summary>
/// <remarks>
/// The safety brake puts every destructive ticket on one row per kind. Callers in this process that arrive while a
/// write to the same row is under way are combined into the next write (group commit): a bulk event of hundreds of
/// leavers costs a few dozen reads and writes instead of a conflict-and-retry storm on one hot row, which serialised
/// the whole event behind one storage round trip per ticket. Other processes are still fenced by the row's ETag.
/// The row this process wrote last is remembered with its ETag, so the next write is conditional on it without
/// reading first (one round trip on a ticket's critical path instead of two); if anyone else wrote meanwhile, the
/// write fails on the ETag and the row is read. A refusal writes nothing, so it is decided on the stored row.
/// </remarks>
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
    private const int MaxRememberedRows = 4096;

    private readonly ConcurrentDictionary<string, Row> _rows = new(StringComparer.Ordinal);

    /// <summary>What this process last wrote to each row (its ETag and occurrences); never used after a conflict.</summary>
    private readonly ConcurrentDictionary<string, Written> _written = new(StringComparer.Ordinal);

    public async Task<CounterResult> TryRecordAsync(string key, string occurrenceId, int weight, int limit, TimeSpan window, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(occurrenceId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(weight, 1);
        var partition = TableKeys.Sha256Hex(key);
        var id = occurrenceId.Length <= MaxOccurrenceIdChars ? occurrenceId : "~" + TableKeys.Sha256Hex(occurrenceId);
        var request = new Request(id, weight, limit, now - window, now);

        var row = _rows.GetOrAdd(partition, p => new Row(p, key));
        bool start;
        lock (row)
        {
            row.Pending.Add(request);
            start = !row.Writing;
            row.Writing = true;
        }

        if (start)
        {
            _ = DrainAsync(row);
        }

        return await request.Result.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Writes what has gathered for the row, batch after batch, until nothing is waiting.</summary>
    private async Task DrainAsync(Row row)
    {
        while (true)
        {
            List<Request> batch;
            lock (row)
            {
                if (row.Pending.Count == 0)
                {
                    row.Writing = false;
                    _rows.TryRemove(new KeyValuePair<string, Row>(row.Partition, row));
                    return;
                }

                batch = [.. row.Pending];
                row.Pending.Clear();
            }

            try
            {
                var results = await CommitAsync(row, batch);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Result.TrySetResult(results[i]);
                }
            }
            catch (Exception ex)
            {
                // Each caller sees the failure of the write it was part of; the next batch tries afresh.
                foreach (var request in batch)
                {
                    request.Result.TrySetException(ex);
                }
            }
        }
    }

    /// <summary>
    /// Decides the batch's requests in arrival order against the stored row and writes the row once (not at all when
    /// nothing new is recorded). On a conflict the row is read again and the whole batch decided again.
    /// </summary>
    private async Task<CounterResult[]> CommitAsync(Row row, List<Request> batch)
    {
        // The shared write is not cancelled by any one caller; each caller stops waiting on its own token.
        var cancellationToken = CancellationToken.None;
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            ETag? etag;
            List<Occurrence> occurrences;
            var fromMemory = attempt == 1 && _written.ContainsKey(row.Partition);
            if (fromMemory && _written.TryGetValue(row.Partition, out var known))
            {
                (etag, occurrences) = (known.ETag, [.. known.Occurrences]);
            }
            else
            {
                _written.TryRemove(row.Partition, out _);
                var reading = table.GetEntityIfExistsAsync<TableEntity>(row.Partition, RowKey, cancellationToken: cancellationToken);
                if (attempt == 1 && await TryCreateAsync(row, batch, reading) is { } created)
                {
                    return created;
                }

                var current = await reading;
                etag = current.HasValue ? current.Value!.ETag : null;
                occurrences = current.HasValue ? Read(current.Value!) : [];
            }

            var oldest = batch.Min(r => r.WindowStart);
            occurrences.RemoveAll(o => o.At <= oldest);
            var (results, added) = Decide(row, batch, occurrences, log: true);
            if (!added)
            {
                if (fromMemory && results.Any(r => !r.Recorded))
                {
                    // A refusal is never written, so it would never meet a changed ETag: decide it on the stored row
                    // (another writer may have pruned it, or an operator cleared it).
                    _written.TryRemove(row.Partition, out _);
                    continue;
                }

                return results;
            }

            var entity = Write(row.Partition, row.Key, occurrences);
            try
            {
                var response = etag is { } match
                    ? await table.UpdateEntityAsync(entity, match, TableUpdateMode.Replace, cancellationToken)
                    : await table.AddEntityAsync(entity, cancellationToken);
                Remember(row.Partition, response.Headers.ETag, occurrences);
                return results;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412 or 404)
            {
                _written.TryRemove(row.Partition, out _);
                logger.CounterContention(row.Partition[..12], attempt);

                // Real-time jitter, not TimeProvider: this spreads competing writers apart, it is not business time.
                await Task.Delay(Random.Shared.Next(1, 5 + (4 * Math.Min(attempt, 10))), cancellationToken);
            }
        }

        throw new InvalidOperationException($"Counter {row.Partition[..12]} stayed contended for {MaxAttempts} attempts.");
    }

    /// <summary>Decides the batch's requests in arrival order against <paramref name="occurrences"/>, adding the recorded ones to it.</summary>
    private (CounterResult[] Results, bool Added) Decide(Row row, List<Request> batch, List<Occurrence> occurrences, bool log)
    {
        var results = new CounterResult[batch.Count];
        var added = false;
        for (var i = 0; i < batch.Count; i++)
        {
            var request = batch[i];
            var units = occurrences.Where(o => o.At > request.WindowStart).Sum(o => o.Units);
            if (occurrences.Exists(o => o.Id == request.Id))
            {
                results[i] = new CounterResult(true, units); // recorded before: idempotent
            }
            else if (units + request.Weight > request.Limit)
            {
                if (log)
                {
                    logger.CounterAtLimit(row.Partition[..12], units, request.Limit, request.Now - request.WindowStart);
                }

                results[i] = new CounterResult(false, units);
            }
            else
            {
                occurrences.Add(new Occurrence(request.Id, request.Now, request.Weight));
                results[i] = new CounterResult(true, units);
                added = true;
            }
        }

        return (results, added);
    }

    /// <summary>
    /// A row this process does not know is created as if it were new, while <paramref name="reading"/> fetches it in
    /// case it exists: a counter seen for the first time (a person's first MFA reset) costs one round trip, not a read
    /// and then a write. Null when the row exists (decide on the read) or the batch would be refused even on a new row.
    /// </summary>
    private async Task<CounterResult[]?> TryCreateAsync(Row row, List<Request> batch, Task<NullableResponse<TableEntity>> reading)
    {
        var occurrences = new List<Occurrence>();
        var (results, added) = Decide(row, batch, occurrences, log: false);
        if (!added || results.Any(r => !r.Recorded))
        {
            return null;
        }

        try
        {
            var response = await table.AddEntityAsync(Write(row.Partition, row.Key, occurrences), CancellationToken.None);
            Remember(row.Partition, response.Headers.ETag, occurrences);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return null; // it exists: decided on what the read returns
        }
        catch
        {
            reading.ObserveFailure();
            throw;
        }

        reading.ObserveFailure(); // not needed: the row did not exist
        return results;
    }

    private void Remember(string partition, ETag? etag, List<Occurrence> occurrences)
    {
        if (etag is not { } written)
        {
            _written.TryRemove(partition, out _);
            return;
        }

        if (_written.Count >= MaxRememberedRows)
        {
            // Per-person MFA rows are many and rarely written twice; forgetting them only costs a read.
            _written.Clear();
        }

        _written[partition] = new Written(written, occurrences);
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

    private sealed record Written(ETag ETag, IReadOnlyList<Occurrence> Occurrences);

    /// <summary>One caller's occurrence, waiting to be decided in the next write of its row.</summary>
    private sealed record Request(string Id, int Weight, int Limit, DateTimeOffset WindowStart, DateTimeOffset Now)
    {
        public TaskCompletionSource<CounterResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Requests for one counter row gathering while a write to it is under way.</summary>
    private sealed class Row(string partition, string key)
    {
        public string Partition { get; } = partition;
        public string Key { get; } = key;
        public List<Request> Pending { get; } = [];
        public bool Writing { get; set; }
    }

    /// <summary>One recorded occurrence; <see cref="Weight"/> units (absent in rows written before weights: 1).</summary>
    private sealed record Occurrence(string Id, DateTimeOffset At, int? Weight = null)
    {
        public int Units => Weight ?? 1;
    }
}
