using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Connectors.Storage;

/// <summary>
/// Whether intake can record and queue right now (the deliveries table and the work queue answer), so it can say 503
/// instead of accepting a delivery it cannot keep. Each check is one small read, bounded by <see cref="Timeout"/>.
/// </summary>
public sealed class StorageHealth(TableClient deliveries, QueueClient queue, ILogger<StorageHealth> logger)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    public async Task<bool> IsAvailableAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        var results = await Task.WhenAll(CheckTableAsync(timeout.Token), CheckQueueAsync(timeout.Token));
        return results.All(ok => ok);
    }

    private Task<bool> CheckTableAsync(CancellationToken cancellationToken) => CheckAsync("table", async () =>
    {
        // A point read of a row that never exists: cheap, and needs only data-plane read rights.
        _ = await deliveries.GetEntityIfExistsAsync<TableEntity>("health", "probe", ["RowKey"], cancellationToken);
    }, cancellationToken);

    private Task<bool> CheckQueueAsync(CancellationToken cancellationToken) => CheckAsync("queue", async () =>
    {
        _ = await queue.GetPropertiesAsync(cancellationToken);
    }, cancellationToken);

    private async Task<bool> CheckAsync(string component, Func<Task> probe, CancellationToken cancellationToken)
    {
        try
        {
            await probe();
            return true;
        }
        catch (RequestFailedException ex)
        {
            logger.StorageUnavailable(component, ex.Status, ex.ErrorCode);
            return false;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            logger.StorageUnavailable(component, 0, "Timeout");
            return false;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or AggregateException)
        {
            logger.StorageUnavailable(component, 0, ex.GetType().Name);
            return false;
        }
    }
}
