using System.Text;
using System.Text.Json;
using IamFulfillment.Connectors.Storage;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;

namespace IamFulfillment.Connectors.Tests.Storage;

[Collection(AzuriteCollection.Name)]
public sealed class QueueWorkTests(AzuriteFixture azurite)
{
    private static readonly WorkItem Item = new()
    {
        System = TicketSystemKind.Jira,
        TicketKey = "HR-12",
        DeliveryId = "b1d4c3e2-0001",
        ReceivedAt = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero),
        Attempt = 1,
        Reason = "retry",
    };

    [Fact]
    public async Task Enqueue_ThenReceive_ReturnsTheSameWorkItem()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        await scope.Get<IWorkQueue>().EnqueueAsync(Item, null, CancellationToken.None);

        var received = Assert.Single(await scope.Get<QueueWorkSource>().ReceiveAsync(16, TimeSpan.FromSeconds(30), CancellationToken.None));

        Assert.Equal(Item, received.Item);
        Assert.Equal(1, received.DequeueCount);
        Assert.False(string.IsNullOrEmpty(received.MessageId));
        Assert.False(string.IsNullOrEmpty(received.PopReceipt));
    }

    [Fact]
    public async Task Enqueue_PutsBase64OfCamelCaseJsonOnTheWire()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        await scope.Get<IWorkQueue>().EnqueueAsync(Item, null, CancellationToken.None);

        var raw = Assert.Single((await scope.RawQueue().PeekMessagesAsync(1)).Value).Body.ToString();
        var json = Encoding.UTF8.GetString(Convert.FromBase64String(raw)); // throws if the wire text is not base64

        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        Assert.Equal("Jira", root.GetProperty("system").GetString());
        Assert.Equal("HR-12", root.GetProperty("ticketKey").GetString());
        Assert.Equal("b1d4c3e2-0001", root.GetProperty("deliveryId").GetString());
        Assert.Equal(1, root.GetProperty("attempt").GetInt32());
        Assert.Equal("retry", root.GetProperty("reason").GetString());
        Assert.False(root.TryGetProperty("ticket", out _));

        // What the Azure Functions queue trigger hands its function (the decoded text) parses the same way.
        Assert.Equal(Item, QueueWorkSource.ParseMessage(json));
    }

    [Fact]
    public async Task Enqueue_WithDelay_StaysInvisibleUntilItIsDue()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var source = scope.Get<QueueWorkSource>();
        await scope.Get<IWorkQueue>().EnqueueAsync(Item, TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.Empty(await source.ReceiveAsync(1, TimeSpan.FromSeconds(30), CancellationToken.None));
        await Task.Delay(TimeSpan.FromSeconds(1.3));
        Assert.Single(await source.ReceiveAsync(1, TimeSpan.FromSeconds(30), CancellationToken.None));
    }

    [Fact]
    public async Task Enqueue_WithDelayBeyondSevenDays_IsClampedToTheQueueMaximum()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);

        await scope.Get<IWorkQueue>().EnqueueAsync(Item, TimeSpan.FromDays(30), CancellationToken.None);

        Assert.Empty((await scope.RawQueue().PeekMessagesAsync(1)).Value);
        Assert.Equal(1, (await scope.RawQueue().GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    [Fact]
    public async Task Receive_MessageThatIsNotBase64_ReturnsNullItemWithTheRawText()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        await scope.RawQueue().SendMessageAsync("""{"system":"Jira","ticketKey":"HR-1"}""");

        var received = Assert.Single(await scope.Get<QueueWorkSource>().ReceiveAsync(1, TimeSpan.FromSeconds(30), CancellationToken.None));

        Assert.Null(received.Item);
        Assert.Equal("""{"system":"Jira","ticketKey":"HR-1"}""", received.RawText);
        Assert.True(await scope.Get<QueueWorkSource>().DeleteAsync(received, CancellationToken.None));
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("""{"system":"Jira"}""")]
    [InlineData("""{"system":"Remedy","ticketKey":"X-1"}""")]
    [InlineData("""{"system":1,"ticketKey":"X-1"}""")]
    [InlineData("[]")]
    public async Task Receive_Base64MessageThatIsNotAWorkItem_ReturnsNullItem(string text)
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        await scope.RawQueue().SendMessageAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(text)));

        var received = Assert.Single(await scope.Get<QueueWorkSource>().ReceiveAsync(1, TimeSpan.FromSeconds(30), CancellationToken.None));

        Assert.Null(received.Item);
        Assert.Equal(text, received.RawText);
    }

    [Fact]
    public async Task Extend_KeepsTheMessageHiddenAndReplacesThePopReceipt()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var source = scope.Get<QueueWorkSource>();
        await scope.Get<IWorkQueue>().EnqueueAsync(Item, null, CancellationToken.None);
        var received = Assert.Single(await source.ReceiveAsync(1, TimeSpan.FromSeconds(1), CancellationToken.None));

        var extended = await source.ExtendAsync(received, TimeSpan.FromMinutes(5), CancellationToken.None);
        await Task.Delay(TimeSpan.FromSeconds(1.3));

        Assert.NotEqual(received.PopReceipt, extended.PopReceipt);
        Assert.Empty(await source.ReceiveAsync(1, TimeSpan.FromSeconds(30), CancellationToken.None));
        Assert.False(await source.DeleteAsync(received, CancellationToken.None)); // the old receipt no longer works
        Assert.True(await source.DeleteAsync(extended, CancellationToken.None));
        Assert.Equal(0, (await scope.RawQueue().GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    [Fact]
    public async Task EveryWayAMessageIsHidden_NotesWhenItsHoldBegan_SoRenewalsAreTimedFromIt()
    {
        // The consumer renews halfway through a hold: timed from when the work started, a handed-over item whose
        // work starts late would be renewed after its hold ran out and reappear mid-run.
        await using var scope = await StorageScope.CreateAsync(azurite);
        var source = scope.Get<QueueWorkSource>();
        var before = System.Diagnostics.Stopwatch.GetTimestamp();

        var held = await scope.Get<QueueWorkQueue>().EnqueueHeldAsync(Item, TimeSpan.FromSeconds(1), CancellationToken.None);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var beforeReceive = System.Diagnostics.Stopwatch.GetTimestamp();
        var received = Assert.Single(await source.ReceiveAsync(1, TimeSpan.FromSeconds(30), CancellationToken.None));
        var beforeExtend = System.Diagnostics.Stopwatch.GetTimestamp();
        var extended = await source.ExtendAsync(received, TimeSpan.FromSeconds(30), CancellationToken.None);
        var after = System.Diagnostics.Stopwatch.GetTimestamp();

        Assert.InRange(held.HiddenSince, before, beforeReceive);
        Assert.InRange(received.HiddenSince, beforeReceive, beforeExtend);
        Assert.InRange(extended.HiddenSince, beforeExtend, after);
    }

    [Fact]
    public async Task Extend_KeepsTheMessageContent()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var source = scope.Get<QueueWorkSource>();
        await scope.Get<IWorkQueue>().EnqueueAsync(Item, null, CancellationToken.None);
        var received = Assert.Single(await source.ReceiveAsync(1, TimeSpan.FromSeconds(30), CancellationToken.None));

        var extended = await source.ExtendAsync(received, TimeSpan.Zero, CancellationToken.None); // visible again at once
        var again = Assert.Single(await source.ReceiveAsync(1, TimeSpan.FromSeconds(30), CancellationToken.None));

        Assert.Equal(extended.MessageId, again.MessageId);
        Assert.Equal(Item, again.Item);
        Assert.Equal(2, again.DequeueCount);
    }

    [Fact]
    public async Task Receive_AfterTheVisibilityTimeout_RedeliversWithAHigherDequeueCount()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var source = scope.Get<QueueWorkSource>();
        await scope.Get<IWorkQueue>().EnqueueAsync(Item, null, CancellationToken.None);
        var first = Assert.Single(await source.ReceiveAsync(1, TimeSpan.FromSeconds(1), CancellationToken.None));

        await Task.Delay(TimeSpan.FromSeconds(1.3));
        var second = Assert.Single(await source.ReceiveAsync(1, TimeSpan.FromSeconds(30), CancellationToken.None));

        Assert.Equal(first.MessageId, second.MessageId);
        Assert.Equal(2, second.DequeueCount);
        Assert.False(await source.DeleteAsync(first, CancellationToken.None));
    }

    [Fact]
    public async Task Receive_ManyMessages_ReturnsAtMostTheBatchSize()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var queue = scope.Get<IWorkQueue>();
        for (var i = 0; i < 40; i++)
        {
            await queue.EnqueueAsync(Item with { TicketKey = $"HR-{i}" }, null, CancellationToken.None);
        }

        var batch = await scope.Get<QueueWorkSource>().ReceiveAsync(100, TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.Equal(QueueWorkSource.MaxBatch, batch.Count);
        Assert.All(batch, r => Assert.NotNull(r.Item));
    }
}

public sealed class WorkMessageTests
{
    [Fact]
    public void ParseMessage_MinimalMessage_FillsDefaults()
    {
        var item = WorkMessage.ParseMessage("""{"system":"ServiceNow","ticketKey":"abc"}""");

        Assert.Equal(new WorkItem { System = TicketSystemKind.ServiceNow, TicketKey = "abc" }, item);
    }

    [Fact]
    public void ParseMessage_PascalCaseFromAnotherProducer_IsAccepted()
    {
        var item = WorkMessage.ParseMessage("""{"System":"Jira","TicketKey":"HR-1","Attempt":2}""");

        Assert.Equal(2, item!.Attempt);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("{")]
    [InlineData("null")]
    [InlineData("\"text\"")]
    [InlineData("""{"system":"Jira","ticketKey":""}""")]
    [InlineData("""{"system":"Jira","ticketKey":"HR-1","attempt":-1}""")]
    [InlineData("""{"system":"Jira","ticketKey":"HR-1","attempt":"many"}""")]
    [InlineData("""{"system":"Jira","ticketKey":"HR-1","receivedAt":"yesterday"}""")]
    public void ParseMessage_NotAWorkItem_ReturnsNullWithoutThrowing(string? text) => Assert.Null(WorkMessage.ParseMessage(text));

    [Theory]
    [InlineData("eyJ")] // truncated base64
    [InlineData("not base64!")]
    [InlineData("//79")] // base64 of bytes that are not UTF-8
    public void DecodeBase64_NotBase64OfUtf8_ReturnsNull(string raw) => Assert.Null(WorkMessage.DecodeBase64(raw));
}
