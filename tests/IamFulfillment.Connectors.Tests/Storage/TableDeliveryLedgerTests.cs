using Azure.Data.Tables;
using IamFulfillment.Connectors.Storage;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Logging.Abstractions;

namespace IamFulfillment.Connectors.Tests.Storage;

[Collection(AzuriteCollection.Name)]
public sealed class TableDeliveryLedgerTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Record_FirstTime_ReturnsNew()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var ledger = scope.Get<IDeliveryLedger>();

        var status = await ledger.RecordAsync(TicketSystemKind.Jira, "b1d4c3e2-0001", "HR-12", CancellationToken.None);

        Assert.Equal(DeliveryStatus.New, status);
        var row = (await scope.RawTable(t => t.Deliveries).GetEntityAsync<TableEntity>("Jira", "b1d4c3e2-0001")).Value;
        Assert.Equal("Received", row.GetString("State"));
        Assert.Equal("HR-12", row.GetString("TicketKey"));
        Assert.Equal(StorageScope.Start, row.GetDateTimeOffset("ReceivedAt"));
    }

    [Fact]
    public async Task Record_AgainBeforeItWasQueued_ReturnsNotYetQueued()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var ledger = scope.Get<IDeliveryLedger>();
        await ledger.RecordAsync(TicketSystemKind.Jira, "d-1", "HR-12", CancellationToken.None);

        var status = await ledger.RecordAsync(TicketSystemKind.Jira, "d-1", "HR-12", CancellationToken.None);

        Assert.Equal(DeliveryStatus.NotYetQueued, status);
    }

    [Fact]
    public async Task Record_WhoseInsertAnswerWasLost_IsStillToBeQueued_NotADuplicate()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var lost = new LostAnswer(r => r.Method == Azure.Core.RequestMethod.Post);
        var ledger = new TableDeliveryLedger(scope.RetriedTable(t => t.Deliveries, lost), scope.Time, NullLogger<TableDeliveryLedger>.Instance);

        var status = await ledger.RecordAsync(TicketSystemKind.Jira, "d-1", "HR-12", CancellationToken.None);

        // The insert landed and the client's retry met it (409): the row still says Received, so intake queues the work.
        Assert.True(lost.Lost);
        Assert.Equal(DeliveryStatus.NotYetQueued, status);
    }

    [Fact]
    public async Task Record_AgainAfterItWasQueued_ReturnsAlreadyQueued()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var ledger = scope.Get<IDeliveryLedger>();
        await ledger.RecordAsync(TicketSystemKind.ServiceNow, "d-1", "sys-1", CancellationToken.None);
        await ledger.MarkQueuedAsync(TicketSystemKind.ServiceNow, "d-1", CancellationToken.None);

        var status = await ledger.RecordAsync(TicketSystemKind.ServiceNow, "d-1", "sys-1", CancellationToken.None);

        Assert.Equal(DeliveryStatus.AlreadyQueued, status);
        var row = (await scope.RawTable(t => t.Deliveries).GetEntityAsync<TableEntity>("ServiceNow", "d-1")).Value;
        Assert.Equal("sys-1", row.GetString("TicketKey")); // MarkQueued merges; it does not wipe what was recorded
    }

    [Fact]
    public async Task RecordQueued_FirstTime_IsNew_AndTheRowSaysQueued_InOneWrite()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var requests = new RequestMethods();
        var ledger = new TableDeliveryLedger(scope.CountedTable(t => t.Deliveries, requests), scope.Time, NullLogger<TableDeliveryLedger>.Instance);

        var status = await ledger.RecordQueuedAsync(TicketSystemKind.Jira, "d-1", "HR-12", CancellationToken.None);

        Assert.Equal(DeliveryStatus.New, status);
        Assert.Equal(["POST"], requests.Sent);
        var row = (await scope.RawTable(t => t.Deliveries).GetEntityAsync<TableEntity>("Jira", "d-1")).Value;
        Assert.Equal("Queued", row.GetString("State"));
        Assert.Equal("HR-12", row.GetString("TicketKey"));
        Assert.Equal(StorageScope.Start, row.GetDateTimeOffset("ReceivedAt"));
        Assert.Equal(StorageScope.Start, row.GetDateTimeOffset("QueuedAt"));
        Assert.Equal(DeliveryStatus.AlreadyQueued, await scope.Get<IDeliveryLedger>().RecordAsync(TicketSystemKind.Jira, "d-1", "HR-12", CancellationToken.None));
    }

    [Fact]
    public async Task RecordQueued_WhoseInsertAnswerWasLost_IsThisDeliverysOwn_NotADuplicate()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var lost = new LostAnswer(r => r.Method == Azure.Core.RequestMethod.Post);
        var ledger = new TableDeliveryLedger(scope.RetriedTable(t => t.Deliveries, lost), scope.Time, NullLogger<TableDeliveryLedger>.Instance);

        var status = await ledger.RecordQueuedAsync(TicketSystemKind.Jira, "d-1", "HR-12", CancellationToken.None);

        // The insert landed and the client's retry met it (409): taken for a duplicate, intake would withdraw the only message.
        Assert.True(lost.Lost);
        Assert.Equal(DeliveryStatus.New, status);
    }

    [Fact]
    public async Task RecordQueued_AfterAnAttemptThatRecordedItWithoutQueuing_IsThisDeliverysToProcess_AndTheRowNowSaysQueued()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var ledger = scope.Get<IDeliveryLedger>();
        await ledger.RecordAsync(TicketSystemKind.ServiceNow, "d-1", "sys-1", CancellationToken.None);

        var status = await ledger.RecordQueuedAsync(TicketSystemKind.ServiceNow, "d-1", "sys-1", CancellationToken.None);

        Assert.Equal(DeliveryStatus.NotYetQueued, status);
        Assert.Equal(DeliveryStatus.AlreadyQueued, await ledger.RecordAsync(TicketSystemKind.ServiceNow, "d-1", "sys-1", CancellationToken.None));
    }

    [Fact]
    public async Task RecordQueued_AfterAnotherAttemptQueuedIt_IsAlreadyQueued()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var ledger = scope.Get<IDeliveryLedger>();
        await ledger.RecordQueuedAsync(TicketSystemKind.Jira, "d-1", "HR-12", CancellationToken.None);

        Assert.Equal(DeliveryStatus.AlreadyQueued, await ledger.RecordQueuedAsync(TicketSystemKind.Jira, "d-1", "HR-12", CancellationToken.None));
    }

    [Fact]
    public async Task Record_SameDeliveryIdFromTwoSystems_AreIndependent()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var ledger = scope.Get<IDeliveryLedger>();
        await ledger.RecordAsync(TicketSystemKind.Jira, "same", "HR-1", CancellationToken.None);

        Assert.Equal(DeliveryStatus.New, await ledger.RecordAsync(TicketSystemKind.ServiceNow, "same", "sys-1", CancellationToken.None));
    }

    [Theory]
    [InlineData("a/b#c?d\\e")]
    [InlineData("with|pipe and spaces")]
    [InlineData("ünïcode-id")]
    public async Task Record_DeliveryIdThatCannotBeAKey_IsHashedAndStillDeduplicated(string deliveryId)
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var ledger = scope.Get<IDeliveryLedger>();

        Assert.Equal(DeliveryStatus.New, await ledger.RecordAsync(TicketSystemKind.Jira, deliveryId, "HR-1", CancellationToken.None));
        await ledger.MarkQueuedAsync(TicketSystemKind.Jira, deliveryId, CancellationToken.None);
        Assert.Equal(DeliveryStatus.AlreadyQueued, await ledger.RecordAsync(TicketSystemKind.Jira, deliveryId, "HR-1", CancellationToken.None));

        var row = Assert.Single(scope.RawTable(t => t.Deliveries).Query<TableEntity>());
        Assert.StartsWith("~", row.RowKey, StringComparison.Ordinal);
        Assert.Equal(deliveryId, row.GetString("DeliveryId"));
    }

    [Fact]
    public async Task Record_VeryLongDeliveryId_IsHashed()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var ledger = scope.Get<IDeliveryLedger>();
        var id = new string('a', 2000);

        Assert.Equal(DeliveryStatus.New, await ledger.RecordAsync(TicketSystemKind.Jira, id, "HR-1", CancellationToken.None));
        Assert.Equal(DeliveryStatus.NotYetQueued, await ledger.RecordAsync(TicketSystemKind.Jira, id, "HR-1", CancellationToken.None));
    }

    [Fact]
    public async Task Purge_RemovesRecordsWrittenBeforeTheCutoff_AndKeepsNewerOnes()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var ledger = scope.Get<TableDeliveryLedger>();
        for (var i = 0; i < 3; i++)
        {
            await ledger.RecordAsync(TicketSystemKind.Jira, $"d-{i}", "HR-1", CancellationToken.None);
        }

        await ledger.RecordAsync(TicketSystemKind.ServiceNow, "d-x", "sys-1", CancellationToken.None);

        // Timestamp is the service's clock, so the cutoffs are real times around now.
        var serverNow = TimeProvider.System.GetUtcNow();
        Assert.Equal(0, await ledger.PurgeOlderThanAsync(serverNow.AddHours(-1), CancellationToken.None));
        Assert.Equal(4, await ledger.PurgeOlderThanAsync(serverNow.AddHours(1), CancellationToken.None));

        Assert.Empty(scope.RawTable(t => t.Deliveries).Query<TableEntity>());
        Assert.Equal(DeliveryStatus.New, await ledger.RecordAsync(TicketSystemKind.Jira, "d-0", "HR-1", CancellationToken.None));
    }

    [Fact]
    public async Task PurgeExpired_UsesTheConfiguredRetention()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var ledger = scope.Get<TableDeliveryLedger>();
        await ledger.RecordAsync(TicketSystemKind.Jira, "d-1", "HR-1", CancellationToken.None);

        // Timestamp is the service's clock: put the fake clock there. Just written, the row is kept…
        scope.Time.SetUtcNow(TimeProvider.System.GetUtcNow());
        Assert.Equal(0, await ledger.PurgeExpiredAsync(CancellationToken.None));

        // …and eight days later (past the default seven days' retention) it is gone.
        scope.Time.Advance(TimeSpan.FromDays(8));
        Assert.Equal(1, await ledger.PurgeExpiredAsync(CancellationToken.None));
    }
}
