using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using IamFulfillment.Core.Ports;

namespace IamFulfillment.Connectors.Storage;

/// <summary>
/// One row per directory user (PartitionKey = object id, RowKey <c>person</c>): the groups this service granted and
/// has not removed, and a short lock taken with ETag concurrency to serialise decisions spanning tickets for one person.
/// </summary>
public sealed class TablePersonLedger(TableClient table, TimeProvider time) : IPersonLedger
{
    private const string RowKey = "person";
    private const int MaxAttempts = 20;

    public async Task<PersonLock?> TryLockAsync(string personId, string owner, TimeSpan duration, CancellationToken cancellationToken)
    {
        var partition = TableKeys.ReadableOrHash(personId);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var current = await table.GetEntityIfExistsAsync<TableEntity>(partition, RowKey, cancellationToken: cancellationToken);
            var now = time.GetUtcNow();
            if (current.HasValue && current.Value!.GetString("LockOwner") is { } holder && holder != owner
                && current.Value.GetDateTimeOffset("LockedUntil") is { } until && until > now)
            {
                return null;
            }

            var entity = current.HasValue ? current.Value! : new TableEntity(partition, RowKey) { ["PersonId"] = personId, ["Granted"] = "[]" };
            entity["LockOwner"] = owner;
            entity["LockedUntil"] = now + duration;
            try
            {
                Response response = current.HasValue
                    ? await table.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace, cancellationToken)
                    : await table.AddEntityAsync(entity, cancellationToken);
                // The write was conditional on the row as read, so its grants are the ones under the lock.
                return new PersonLock(personId, owner, response.Headers.ETag?.ToString() ?? "", Granted(entity));
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                // Someone else changed the row first: read again.
            }
        }

        return null;
    }

    public async Task ReleaseAsync(PersonLock personLock, CancellationToken cancellationToken)
    {
        await UpdateAsync(personLock.PersonId, entity =>
        {
            if (entity.GetString("LockOwner") == personLock.Owner)
            {
                entity["LockOwner"] = null;
                entity["LockedUntil"] = null;
            }
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<string>> GrantedAsync(string personId, CancellationToken cancellationToken)
    {
        var current = await table.GetEntityIfExistsAsync<TableEntity>(TableKeys.ReadableOrHash(personId), RowKey, cancellationToken: cancellationToken);
        return current.HasValue ? Granted(current.Value!) : [];
    }

    /// <remarks>
    /// Removing access from someone this service never granted anything to changes nothing, so no row is created for
    /// them: a bulk leaver event would otherwise write one row per leaver only to record an empty list.
    /// </remarks>
    public Task RecordAsync(string personId, IReadOnlyList<string> added, IReadOnlyList<string> removed, CancellationToken cancellationToken) =>
        UpdateAsync(personId, entity =>
        {
            var granted = Granted(entity).Union(added, StringComparer.OrdinalIgnoreCase).Except(removed, StringComparer.OrdinalIgnoreCase).ToList();
            entity["Granted"] = JsonSerializer.Serialize(granted, StorageJson.Options);
        }, cancellationToken, createRow: added.Count > 0);

    private async Task UpdateAsync(string personId, Action<TableEntity> change, CancellationToken cancellationToken, bool createRow = true)
    {
        var partition = TableKeys.ReadableOrHash(personId);
        for (var attempt = 1; ; attempt++)
        {
            var current = await table.GetEntityIfExistsAsync<TableEntity>(partition, RowKey, cancellationToken: cancellationToken);
            if (!current.HasValue && !createRow)
            {
                return;
            }

            var entity = current.HasValue ? current.Value! : new TableEntity(partition, RowKey) { ["PersonId"] = personId, ["Granted"] = "[]" };
            change(entity);
            try
            {
                if (current.HasValue)
                {
                    await table.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace, cancellationToken);
                }
                else
                {
                    await table.AddEntityAsync(entity, cancellationToken);
                }

                return;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412 && attempt < MaxAttempts)
            {
                // Changed concurrently: apply the change to the fresh row.
            }
        }
    }

    private static List<string> Granted(TableEntity entity) =>
        entity.GetString("Granted") is { Length: > 0 } json ? JsonSerializer.Deserialize<List<string>>(json, StorageJson.Options) ?? [] : [];
}
