using System.Diagnostics;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Connectors.Storage;

/// <summary>Creates the tables and the work queue when they are missing; call it once at host start-up.</summary>
public interface IStorageInitializer
{
    /// <summary>Idempotent and quick (one create call per table and one for the queue, in parallel).</summary>
    Task EnsureCreatedAsync(CancellationToken cancellationToken);
}

internal sealed class StorageInitializer(TableServiceClient tables, QueueClient queue, StorageTableNames names, ILogger<StorageInitializer> logger)
    : IStorageInitializer
{
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var creates = names.All.Select(name => (Task)tables.CreateTableIfNotExistsAsync(name, cancellationToken)).ToList();
        creates.Add(queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken));
        await Task.WhenAll(creates);
        logger.StorageEnsured(string.Join(", ", names.All), queue.Name, watch.ElapsedMilliseconds);
    }
}
