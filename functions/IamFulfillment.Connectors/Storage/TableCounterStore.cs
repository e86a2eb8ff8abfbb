using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
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
/// packed 20 bytes each (id hash, time, weight) in binary properties. Every change is read → prune → decide →
/// conditional write, retried on conflict, so concurrent callers are serialised per key and a limit is never overshot.
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
    private const string PackedProperty = "Packed";
    private const string LegacyJsonProperty = "Occurrences";

    // Written where versions before the packed form look for their JSON list: not JSON, so such a version (during a
    // rolling deployment or after a rollback) fails on the row instead of reading it as empty and resetting the count.
    private const string PackedMarker = "packed: see the Packed properties";

    // Each occurrence is 20 bytes (8 of its id's SHA-256, 8 of UTC ticks, 4 of weight): a row is rewritten by every
    // destructive ticket, so it is kept small (a JSON list of ids took about 110 bytes an occurrence). A binary property
    // holds 64 KiB; a long list continues in Packed1, Packed2, … (an entity holds 1 MiB: 15 parts keep well inside it).
    private const int OccurrenceBytes = 20;
    private const int ChunkBytes = 3_000 * OccurrenceBytes;
    private const int MaxChunks = 15;
    private const int MaxOccurrenceIdChars = 128;
    private const int MaxAttempts = 100;
    private const int MaxRememberedRows = 4096;

    private readonly ConcurrentDictionary<string, Row> _rows = new(StringComparer.Ordinal);

    /// <summary>
    /// Rows this process has seen stored: not created as new again (a brake that refuses writes nothing, so its row is
    /// not remembered with an ETag, and each refused ticket would otherwise send a create bound to fail).
    /// </summary>
    private readonly ConcurrentDictionary<string, bool> _existing = new(StringComparer.Ordinal);

    /// <summary>What this process last wrote to each row (its ETag and occurrences); never used after a conflict.</summary>
    private readonly ConcurrentDictionary<string, Written> _written = new(StringComparer.Ordinal);

    public async Task<CounterResult> TryRecordAsync(string key, string occurrenceId, int weight, int limit, TimeSpan window, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(occurrenceId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(weight, 1);
        var partition = TableKeys.Sha256Hex(key);
        // Hashed in the form the JSON rows stored it, so an occurrence recorded before the packed form still matches.
        var stored = occurrenceId.Length <= MaxOccurrenceIdChars ? occurrenceId : "~" + TableKeys.Sha256Hex(occurrenceId);
        var request = new Request(IdHash(stored), weight, limit, now - window, now);

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
                if (attempt == 1 && !_existing.ContainsKey(row.Partition) && await TryCreateAsync(row, batch, reading) is { } created)
                {
                    return created;
                }

                var current = await reading;
                if (current.HasValue)
                {
                    Exists(row.Partition);
                }

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
                Exists(row.Partition);
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
            Exists(row.Partition);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            Exists(row.Partition);
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

    private void Exists(string partition)
    {
        if (_existing.Count >= MaxRememberedRows)
        {
            _existing.Clear(); // forgetting one only costs a create that fails alongside its read
        }

        _existing[partition] = true;
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

    /// <summary>The first 8 bytes of the id's SHA-256: ids are only compared, and a chance collision in one window is negligible.</summary>
    private static ulong IdHash(string occurrenceId) =>
        BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(occurrenceId)));

    private static List<Occurrence> Read(TableEntity entity)
    {
        if (entity.GetBinary(PackedProperty) is not { } first)
        {
            return entity.GetString(LegacyJsonProperty) == PackedMarker ? [] : ReadLegacyJson(entity);
        }

        var parts = new List<byte[]> { first };
        for (var i = 1; entity.GetBinary(PackedProperty + i) is { } more; i++)
        {
            parts.Add(more);
        }

        var occurrences = new List<Occurrence>();
        foreach (var part in parts)
        {
            for (var at = 0; at + OccurrenceBytes <= part.Length; at += OccurrenceBytes)
            {
                var bytes = part.AsSpan(at, OccurrenceBytes);
                occurrences.Add(new Occurrence(
                    BinaryPrimitives.ReadUInt64LittleEndian(bytes),
                    new DateTimeOffset(BinaryPrimitives.ReadInt64LittleEndian(bytes[8..]), TimeSpan.Zero),
                    BinaryPrimitives.ReadInt32LittleEndian(bytes[16..])));
            }
        }

        return occurrences;
    }

    /// <summary>Rows written before the packed form: a JSON list of ids, times and (optional) weights; rewritten packed.</summary>
    private static List<Occurrence> ReadLegacyJson(TableEntity entity)
    {
        var json = new StringBuilder(entity.GetString(LegacyJsonProperty));
        for (var i = 1; entity.GetString(LegacyJsonProperty + i) is { } part; i++)
        {
            json.Append(part);
        }

        return json.Length == 0 ? []
            : (JsonSerializer.Deserialize<List<LegacyOccurrence>>(json.ToString(), StorageJson.Options) ?? [])
                .Select(o => new Occurrence(IdHash(o.Id), o.At, o.Weight ?? 1)).ToList();
    }

    private static TableEntity Write(string partition, string key, List<Occurrence> occurrences)
    {
        var bytes = new byte[occurrences.Count * OccurrenceBytes];
        for (var i = 0; i < occurrences.Count; i++)
        {
            var span = bytes.AsSpan(i * OccurrenceBytes, OccurrenceBytes);
            BinaryPrimitives.WriteUInt64LittleEndian(span, occurrences[i].Id);
            BinaryPrimitives.WriteInt64LittleEndian(span[8..], occurrences[i].At.UtcTicks);
            BinaryPrimitives.WriteInt32LittleEndian(span[16..], occurrences[i].Units);
        }

        var chunks = (bytes.Length + ChunkBytes - 1) / ChunkBytes;
        if (chunks > MaxChunks)
        {
            throw new InvalidOperationException($"Counter {partition[..12]} would hold {occurrences.Count} occurrences, more than one row can store; use a smaller limit or window.");
        }

        // The key is kept for people reading the table; the hash in the PartitionKey is what identifies the counter.
        var entity = new TableEntity(partition, RowKey)
        {
            ["Key"] = TableKeys.Cap(key),
            ["Count"] = occurrences.Sum(o => o.Units),
            [LegacyJsonProperty] = PackedMarker,
        };
        for (var i = 0; i < chunks; i++)
        {
            entity[i == 0 ? PackedProperty : PackedProperty + i] = bytes.AsSpan(i * ChunkBytes, Math.Min(ChunkBytes, bytes.Length - (i * ChunkBytes))).ToArray();
        }

        return entity;
    }

    private sealed record Written(ETag ETag, IReadOnlyList<Occurrence> Occurrences);

    /// <summary>One caller's occurrence, waiting to be decided in the next write of its row.</summary>
    private sealed record Request(ulong Id, int Weight, int Limit, DateTimeOffset WindowStart, DateTimeOffset Now)
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

    /// <summary>One recorded occurrence: the hash of its id, when, and how many units it counts.</summary>
    private sealed record Occurrence(ulong Id, DateTimeOffset At, int Units);

    /// <summary>An occurrence as the JSON form stored it (<see cref="Weight"/> absent in rows written before weights: 1).</summary>
    private sealed record LegacyOccurrence(string Id, DateTimeOffset At, int? Weight = null);
}
