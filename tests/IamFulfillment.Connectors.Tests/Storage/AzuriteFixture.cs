using Azure.Data.Tables;
using Azure.Storage.Queues;
using IamFulfillment.Connectors.Storage;
using IamFulfillment.Sandbox.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace IamFulfillment.Connectors.Tests.Storage;

/// <summary>One Azurite for all storage tests (or the one named by IAMF_TEST_STORAGE).</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private AzuriteRunner? _runner;

    public string ConnectionString => _runner?.ConnectionString ?? throw new InvalidOperationException("Azurite is not running.");

    public async Task InitializeAsync() => _runner = await AzuriteRunner.StartOrShareAsync();

    public async Task DisposeAsync()
    {
        if (_runner is not null)
        {
            await _runner.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}

/// <summary>
/// Storage wired exactly as the hosts wire it (AddAzureStorage from configuration), with a table prefix and queue name
/// of its own so tests never see each other's data, and a fake clock.
/// </summary>
internal sealed class StorageScope : IAsyncDisposable
{
    public static readonly DateTimeOffset Start = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero).AddTicks(1234567);

    private readonly ServiceProvider _provider;

    private StorageScope(ServiceProvider provider, string connectionString, string prefix, string queueName, FakeTimeProvider time)
    {
        _provider = provider;
        ConnectionString = connectionString;
        Prefix = prefix;
        QueueName = queueName;
        Time = time;
    }

    public string ConnectionString { get; }
    public string Prefix { get; }
    public string QueueName { get; }
    public FakeTimeProvider Time { get; }
    public StorageTableNames Tables => new(Prefix);

    /// <summary>Everything the storage code logged, at every level.</summary>
    public IReadOnlyList<FakeLogRecord> Logs => _provider.GetRequiredService<FakeLogCollector>().GetSnapshot();

    public static async Task<StorageScope> CreateAsync(AzuriteFixture azurite)
    {
        var id = Guid.NewGuid().ToString("N")[..12];
        var prefix = "t" + id;
        var queueName = "q-" + id;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["Storage:TablePrefix"] = prefix,
            ["Storage:QueueName"] = queueName,
        }).Build();
        var time = new FakeTimeProvider(Start);
        var provider = new ServiceCollection()
            .AddLogging(logging => logging.AddFakeLogging().SetMinimumLevel(LogLevel.Trace))
            .AddSingleton<TimeProvider>(time)
            .AddAzureStorage(configuration)
            .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        await provider.GetRequiredService<IStorageInitializer>().EnsureCreatedAsync(CancellationToken.None);
        return new StorageScope(provider, azurite.ConnectionString, prefix, queueName, time);
    }

    public T Get<T>()
        where T : notnull => _provider.GetRequiredService<T>();

    /// <summary>A plain client on one of this scope's tables, for looking at (or tampering with) rows directly.</summary>
    public TableClient RawTable(Func<StorageTableNames, string> name) => new TableServiceClient(ConnectionString).GetTableClient(name(Tables));

    /// <summary>A table client whose every request passes through <paramref name="requests"/> (e.g. <see cref="RequestMethods"/>, noting their methods).</summary>
    public TableClient CountedTable(Func<StorageTableNames, string> name, Azure.Core.Pipeline.HttpPipelinePolicy requests)
    {
        var options = new TableClientOptions();
        options.AddPolicy(requests, Azure.Core.HttpPipelinePosition.PerCall);
        return new TableServiceClient(ConnectionString, options).GetTableClient(name(Tables));
    }

    /// <summary>
    /// A table client with <paramref name="policy"/> inside its retry loop (it sees every attempt, and what it throws
    /// the client may retry), retrying after 10 ms instead of the default back-off.
    /// </summary>
    public TableClient RetriedTable(Func<StorageTableNames, string> name, Azure.Core.Pipeline.HttpPipelinePolicy policy)
    {
        var options = new TableClientOptions();
        options.Retry.Delay = TimeSpan.FromMilliseconds(10);
        options.AddPolicy(policy, Azure.Core.HttpPipelinePosition.PerRetry);
        return new TableServiceClient(ConnectionString, options).GetTableClient(name(Tables));
    }

    /// <summary>A plain queue client that does not decode, to see the bytes on the wire.</summary>
    public QueueClient RawQueue() => new(ConnectionString, QueueName);

    public async ValueTask DisposeAsync()
    {
        var service = new TableServiceClient(ConnectionString);
        foreach (var table in Tables.All)
        {
            await service.DeleteTableAsync(table);
        }

        await RawQueue().DeleteIfExistsAsync();
        await _provider.DisposeAsync();
    }
}
