using IamFulfillment.Connectors.Storage;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using IamFulfillment.Sandbox.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace IamFulfillment.Connectors.Tests.Storage;

[Collection(AzuriteCollection.Name)]
public sealed class StorageLoggingTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Logs_AtEveryLevel_NeverContainTheConnectionStringOrKey()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var ticket = new TicketRef(TicketSystemKind.Jira, "HR-1");
        var store = scope.Get<ITicketStore>();
        var state = (await store.TryAcquireAsync(ticket, "worker-a", TimeSpan.FromMinutes(5), CancellationToken.None)).State!;
        await store.TryAcquireAsync(ticket, "worker-b", TimeSpan.FromMinutes(5), CancellationToken.None);
        var (next, events) = AuditEvents.Append(state, 2, scope.Time.GetUtcNow());
        var saved = await store.SaveAsync(next, events, CancellationToken.None);
        scope.Time.Advance(TimeSpan.FromMinutes(6));
        await store.TryAcquireAsync(ticket, "worker-b", TimeSpan.FromMinutes(5), CancellationToken.None); // expired: taken over
        await Assert.ThrowsAsync<LeaseLostException>(() => store.SaveAsync(saved, [], CancellationToken.None));
        await scope.Get<IDeliveryLedger>().RecordAsync(TicketSystemKind.Jira, "d-1", "HR-1", CancellationToken.None);
        await scope.Get<TableDeliveryLedger>().PurgeExpiredAsync(CancellationToken.None);
        await scope.Get<ICounterStore>().TryRecordAsync("k", "o", 1, 0, TimeSpan.FromDays(1), scope.Time.GetUtcNow(), CancellationToken.None);
        await scope.Get<IWorkQueue>().EnqueueAsync(new WorkItem { System = TicketSystemKind.Jira, TicketKey = "HR-1" }, TimeSpan.FromDays(9), CancellationToken.None);
        await scope.Get<IStorageInitializer>().EnsureCreatedAsync(CancellationToken.None);

        var down = await LogsOfAFailedHealthCheckAsync();
        var logs = scope.Logs.Concat(down).ToList();

        Assert.Contains(logs, r => r.Level == LogLevel.Warning); // lease lost, delay clamped, storage unavailable
        foreach (var record in logs)
        {
            var text = record.Message + " " + string.Join(" ", record.StructuredState?.Select(p => p.Value) ?? []) + " " + record.Exception;
            Assert.DoesNotContain(AzuriteRunner.AccountKey, text, StringComparison.Ordinal);
            Assert.DoesNotContain("AccountKey", text, StringComparison.OrdinalIgnoreCase);
        }
    }

    private static async Task<IReadOnlyList<FakeLogRecord>> LogsOfAFailedHealthCheckAsync()
    {
        var port = AzuriteRunner.FreePort();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = AzuriteRunner.BuildConnectionString(port, port, port),
        }).Build();
        await using var provider = new ServiceCollection()
            .AddLogging(logging => logging.AddFakeLogging().SetMinimumLevel(LogLevel.Trace))
            .AddAzureStorage(configuration)
            .BuildServiceProvider();
        Assert.False(await provider.GetRequiredService<StorageHealth>().IsAvailableAsync(CancellationToken.None));
        return provider.GetRequiredService<FakeLogCollector>().GetSnapshot();
    }
}
