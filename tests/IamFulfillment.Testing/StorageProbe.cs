using Azure.Data.Tables;
using Azure.Storage.Queues;
using IamFulfillment.Connectors.Storage;
using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace IamFulfillment.Testing;

/// <summary>
/// A look into the storage a host uses (its tables and work queue, from the same settings), for tests whose host runs
/// in another process or has crashed: ticket states, audit trails, what is still queued.
/// </summary>
public sealed class StorageProbe : IDisposable
{
    private readonly ServiceProvider _services;

    public StorageProbe(IReadOnlyDictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        _services = new ServiceCollection().AddAzureStorage(configuration).BuildServiceProvider();
        Store = _services.GetRequiredService<ITicketStore>();
        Queue = _services.GetRequiredService<QueueClient>();
        Tables = _services.GetRequiredService<TableServiceClient>();
        Names = _services.GetRequiredService<StorageTableNames>();
    }

    public ITicketStore Store { get; }
    public QueueClient Queue { get; }
    public TableServiceClient Tables { get; }
    public StorageTableNames Names { get; }

    public Task<TicketState> WaitForRoundAsync(TicketRef ticket, TimeSpan? timeout = null, Func<TicketState, bool>? until = null) =>
        TicketWaits.WaitForRoundAsync(Store, ticket, timeout, until);

    public Task<IReadOnlyList<AuditEvent>> TrailAsync(TicketRef ticket) => Store.ReadTrailAsync(ticket, CancellationToken.None);

    /// <summary>Messages in the work queue, visible or not (approximate, as the service reports it).</summary>
    public async Task<int> QueuedAsync()
    {
        try
        {
            var properties = await Queue.GetPropertiesAsync();
            return properties.Value.ApproximateMessagesCount;
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            return 0;
        }
    }

    /// <summary>Rows in the ticket-state table (one per ticket the service has seen).</summary>
    public async Task<int> TicketRowsAsync()
    {
        var table = Tables.GetTableClient(Names.Tickets);
        var count = 0;
        try
        {
            await foreach (var _ in table.QueryAsync<TableEntity>(select: ["PartitionKey"]))
            {
                count++;
            }
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            return 0;
        }

        return count;
    }

    public void Dispose() => _services.Dispose();
}
