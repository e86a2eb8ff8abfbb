using System.Collections.Concurrent;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;

namespace IamFulfillment.Connectors.Storage;

/// <summary>
/// One row per directory user (PartitionKey = object id, RowKey <c>person</c>): the groups this service granted and
/// has not removed, and a short lock taken with ETag concurrency to serialise decisions spanning tickets for one person.
/// </summary>
/// <remarks>
/// Every write is conditional on the row as last seen. The row this process last read or wrote is remembered with its
/// ETag, so a ticket's lock, grant record and release cost one round trip each instead of a read and a write; if
/// anyone else wrote meanwhile the ETag no longer matches and the row is read again. A person not remembered here is
/// read while the row is created with the lock already taken: for someone this service never granted anything to,
/// that is the lock in one round trip; otherwise the creation fails and the read decides.
/// </remarks>
public sealed class TablePersonLedger(TableClient table, TimeProvider time) : IPersonLedger
{
    private const string RowKey = "person";
    private const int MaxAttempts = 20;
    private const int MaxRememberedRows = 4096;

    /// <summary>Rows as this process last read or wrote them (content and ETag); dropped on any conflict.</summary>
    private readonly ConcurrentDictionary<string, TableEntity> _known = new(StringComparer.Ordinal);

    public async Task<PersonLock?> TryLockAsync(string personId, string owner, TimeSpan duration, CancellationToken cancellationToken)
    {
        var partition = TableKeys.ReadableOrHash(personId);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            TableEntity? current;
            TableEntity? known = null;
            var fromMemory = attempt == 0 && _known.TryGetValue(partition, out known);
            if (!fromMemory)
            {
                var reading = ReadAsync(partition, cancellationToken);
                if (attempt == 0 && await TryCreateLockedAsync(personId, partition, owner, duration, reading, cancellationToken) is { } created)
                {
                    return created;
                }

                current = await reading;
            }
            else
            {
                current = Copy(known!);
            }

            var now = time.GetUtcNow();
            if (current is not null && current.GetString("LockOwner") is { } holder && holder != owner
                && current.GetDateTimeOffset("LockedUntil") is { } until && until > now)
            {
                if (fromMemory)
                {
                    // A refusal writes nothing, so it would never meet a changed ETag: decide it on the stored row.
                    continue;
                }

                return null;
            }

            var entity = current ?? NewRow(personId, partition);
            entity["LockOwner"] = owner;
            entity["LockedUntil"] = now + duration;
            if (await TryWriteAsync(entity, exists: current is not null, cancellationToken))
            {
                // The write was conditional on the row as read, so its grants are the ones under the lock.
                return new PersonLock(personId, owner, entity.ETag.ToString(), Granted(entity));
            }
        }

        return null;
    }

    public async Task ReleaseAsync(PersonLock personLock, CancellationToken cancellationToken)
    {
        await UpdateAsync(personLock.PersonId, entity => Unlock(entity, personLock), cancellationToken);
    }

    public async Task<IReadOnlyList<string>> GrantedAsync(string personId, CancellationToken cancellationToken)
    {
        var current = await ReadAsync(TableKeys.ReadableOrHash(personId), cancellationToken);
        return current is null ? [] : Granted(current);
    }

    /// <remarks>
    /// Removing access from someone this service never granted anything to changes nothing, so no row is created for
    /// them: a bulk leaver event would otherwise write one row per leaver only to record an empty list.
    /// </remarks>
    public async Task<IReadOnlyList<string>> RecordAsync(string personId, IReadOnlyList<string> added, IReadOnlyList<string> removed, CancellationToken cancellationToken, PersonLock? releasing = null)
    {
        if (releasing is not null && releasing.PersonId != personId)
        {
            throw new ArgumentException($"The lock released with a record must be the same person's (got {releasing.PersonId} for {personId}).", nameof(releasing));
        }

        IReadOnlyList<string> before = [];
        await UpdateAsync(personId, entity =>
        {
            before = Granted(entity); // as the write that goes through found it
            var granted = before.Union(added, StringComparer.OrdinalIgnoreCase).Except(removed, StringComparer.OrdinalIgnoreCase).ToList();
            entity["Granted"] = JsonSerializer.Serialize(granted, StorageJson.Options);
            if (releasing is not null)
            {
                Unlock(entity, releasing);
            }
        }, cancellationToken, createRow: added.Count > 0);
        return before;
    }

    /// <summary>Clears the lock if it is still <paramref name="personLock"/>'s (an expired one may have been taken over).</summary>
    private static void Unlock(TableEntity entity, PersonLock personLock)
    {
        if (entity.GetString("LockOwner") == personLock.Owner)
        {
            entity["LockOwner"] = null;
            entity["LockedUntil"] = null;
        }
    }

    /// <summary>Creates the row with the lock taken, while <paramref name="reading"/> runs; null if the row exists.</summary>
    private async Task<PersonLock?> TryCreateLockedAsync(string personId, string partition, string owner, TimeSpan duration, Task<TableEntity?> reading, CancellationToken cancellationToken)
    {
        var entity = NewRow(personId, partition);
        entity["LockOwner"] = owner;
        entity["LockedUntil"] = time.GetUtcNow() + duration;
        bool created;
        try
        {
            created = await TryWriteAsync(entity, exists: false, cancellationToken);
        }
        catch
        {
            reading.ObserveFailure();
            throw;
        }

        if (!created)
        {
            return null;
        }

        // The read may have seen the new row or no row: either way it is not needed, but it is awaited so its
        // answer cannot overwrite the remembered row with an older one. The lock is taken, whatever the read did.
        try
        {
            await reading;
        }
        catch (Exception)
        {
            // Only the creation mattered.
        }

        Remember(entity);
        return new PersonLock(personId, owner, entity.ETag.ToString(), []);
    }

    private async Task UpdateAsync(string personId, Action<TableEntity> change, CancellationToken cancellationToken, bool createRow = true)
    {
        var partition = TableKeys.ReadableOrHash(personId);
        for (var attempt = 1; ; attempt++)
        {
            var current = attempt == 1 && _known.TryGetValue(partition, out var known) ? Copy(known) : await ReadAsync(partition, cancellationToken);
            if (current is null && !createRow)
            {
                return;
            }

            var entity = current ?? NewRow(personId, partition);
            change(entity);
            if (await TryWriteAsync(entity, exists: current is not null, cancellationToken))
            {
                return;
            }

            if (attempt >= MaxAttempts)
            {
                throw new InvalidOperationException($"The person row {partition} kept changing for {MaxAttempts} attempts.");
            }
        }
    }

    private async Task<TableEntity?> ReadAsync(string partition, CancellationToken cancellationToken)
    {
        var current = await table.GetEntityIfExistsAsync<TableEntity>(partition, RowKey, cancellationToken: cancellationToken);
        if (!current.HasValue)
        {
            _known.TryRemove(partition, out _);
            return null;
        }

        Remember(current.Value!);
        return current.Value;
    }

    /// <summary>Writes conditionally on the row as seen (or creates it); false, and forgets the row, if it changed first.</summary>
    private async Task<bool> TryWriteAsync(TableEntity entity, bool exists, CancellationToken cancellationToken)
    {
        try
        {
            var response = exists
                ? await table.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace, cancellationToken)
                : await table.AddEntityAsync(entity, cancellationToken);
            if (response.Headers.ETag is { } etag)
            {
                entity.ETag = etag;
                Remember(entity);
            }
            else
            {
                _known.TryRemove(entity.PartitionKey, out _);
            }

            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412 || (exists && ex.Status == 404))
        {
            // Changed, created or deleted (e.g. by an operator) since it was seen: read it again.
            _known.TryRemove(entity.PartitionKey, out _);
            return false;
        }
    }

    private void Remember(TableEntity entity)
    {
        if (_known.Count >= MaxRememberedRows)
        {
            // Forgetting only costs a read.
            _known.Clear();
        }

        _known[entity.PartitionKey] = Copy(entity);
    }

    private static TableEntity Copy(TableEntity entity) => new(entity) { ETag = entity.ETag };

    private static TableEntity NewRow(string personId, string partition) =>
        new(partition, RowKey) { ["PersonId"] = personId, ["Granted"] = "[]" };

    private static List<string> Granted(TableEntity entity) =>
        entity.GetString("Granted") is { Length: > 0 } json ? JsonSerializer.Deserialize<List<string>>(json, StorageJson.Options) ?? [] : [];
}
