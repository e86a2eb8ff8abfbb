using IamFulfillment.Connectors.Storage;
using IamFulfillment.Connectors.Tests.Storage;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Intake;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using IamFulfillment.Sandbox.Jira;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace IamFulfillment.Connectors.Tests.Contract;

/// <summary>
/// Webhook intake, the same for both systems, with the real delivery ledger and work queue in Azurite: a delivery
/// is queued once, the system's own retries are acknowledged (never 409, which Jira would retry), replays outside the
/// system's retry window are refused, and deliveries about something else are acknowledged, ignored and counted.
/// </summary>
[Collection(AzuriteCollection.Name)]
public abstract class IntakeContract<TWorld> : IClassFixture<TWorld>, IAsyncLifetime
    where TWorld : class, ITicketSystemWorld, new()
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 26, 9, 0, 0, TimeSpan.Zero);
    private readonly AzuriteFixture _azurite;
    private StorageScope? _storage;

    protected IntakeContract(AzuriteFixture azurite, TWorld world)
    {
        _azurite = azurite;
        World = world;
        Clock = new FakeTimeProvider(T0);
        World.Reset(Clock);
    }

    protected TWorld World { get; }

    /// <summary>One clock for the sandbox (which stamps deliveries) and intake (which judges their age).</summary>
    protected FakeTimeProvider Clock { get; }

    public async Task InitializeAsync() => _storage = await StorageScope.CreateAsync(_azurite);

    public async Task DisposeAsync()
    {
        if (_storage is not null)
        {
            await _storage.DisposeAsync();
        }
    }

    [Fact]
    public async Task SameDeliveryTwice_TheSecondIsADuplicateAnswered200_AndTheTicketIsQueuedOnce()
    {
        using var meter = new IntakeMeter();
        var key = NewTicket();
        var delivery = World.BuildDelivery(key);

        var first = await AcceptAsync(delivery);
        var second = await AcceptAsync(delivery);

        Assert.Equal((IntakeStatus.Accepted, 202), (first.Status, first.HttpStatus));
        Assert.Equal(new TicketRef(World.Kind, key), first.Ticket);
        Assert.Equal((IntakeStatus.Duplicate, 200), (second.Status, second.HttpStatus));
        Assert.Equal(first.DeliveryId, second.DeliveryId);
        Assert.Equal([key], await QueuedAsync());
        Assert.Equal(new Dictionary<string, long> { ["Accepted"] = 1, ["Duplicate"] = 1 }, meter.Counted(World.Kind));
    }

    [Fact]
    public async Task HandedOver_TheDeliveryIsRecordedQueuedInOneWriteAfterItsItemIsQueued_AndADuplicatesItemIsTakenBack()
    {
        var key = NewTicket();
        var delivery = World.BuildDelivery(key);
        var first = new NotedClaim();
        var second = new NotedClaim();

        var accepted = await AcceptAsync(delivery, signal: new OneClaim(first));
        var duplicate = await AcceptAsync(delivery, signal: new OneClaim(second));

        Assert.Equal(IntakeStatus.Accepted, accepted.Status);
        Assert.Equal((true, true, false), (first.Queued, first.Started, first.Withdrawn));
        Assert.Equal(IntakeStatus.Duplicate, duplicate.Status);
        Assert.Equal((false, true), (second.Started, second.Withdrawn));
        var row = (await Storage.RawTable(t => t.Deliveries).GetEntityAsync<Azure.Data.Tables.TableEntity>(World.Kind.ToString(), accepted.DeliveryId!)).Value;
        Assert.Equal(TableDeliveryLedger.Queued, row.GetString("State"));
    }

    [Fact]
    public async Task HandedOver_WhoseRecordLandedButItsAnswerWasLost_IsKeptAndProcessed_AndTheRetryIsADuplicate()
    {
        var key = NewTicket();
        var delivery = World.BuildDelivery(key);
        var first = new NotedClaim();
        var retried = new NotedClaim();
        var lost = new AnswerLostAfterLanding(Storage.Get<IDeliveryLedger>());

        var accepted = await AcceptAsync(delivery, lost, new OneClaim(first));
        var retry = await AcceptAsync(delivery, signal: new OneClaim(retried));

        // Taken back, the only item would be gone: the retry meets the record and is a duplicate.
        Assert.Equal(IntakeStatus.Accepted, accepted.Status);
        Assert.Equal((true, true, false), (first.Queued, first.Started, first.Withdrawn));
        Assert.Equal(IntakeStatus.Duplicate, retry.Status);
        Assert.True(retried.Withdrawn);
    }

    [Fact]
    public async Task TheSystemsOwnRetry_AMinuteLater_IsAcknowledgedWithoutQueuingAgain()
    {
        var key = NewTicket();
        var delivery = World.BuildDelivery(key);
        await AcceptAsync(delivery);
        Clock.Advance(TimeSpan.FromMinutes(1));

        var retry = await AcceptAsync(World.Redelivery(delivery));

        Assert.Equal((IntakeStatus.Duplicate, 200), (retry.Status, retry.HttpStatus));
        Assert.Equal([key], await QueuedAsync());
    }

    [Fact]
    public async Task TheSystemsOwnRetry_AnHourLater_IsADuplicateWithinTheSystemsRetryWindow_OrARefusedReplayOutsideIt()
    {
        var key = NewTicket();
        var delivery = World.BuildDelivery(key);
        await AcceptAsync(delivery);
        Clock.Advance(TimeSpan.FromHours(1));

        var late = await AcceptAsync(World.Redelivery(delivery));

        Assert.Equal(World.RetryAnHourLater, late.Status);
        Assert.NotEqual(409, late.HttpStatus);
        Assert.Equal([key], await QueuedAsync());
    }

    [Fact]
    public async Task DeliveryAboutSomethingElse_IsAcknowledgedIgnoredAndCounted()
    {
        using var meter = new IntakeMeter();
        var person = World.AddPerson("Frances Allen", "frances@contoso.example");

        var result = await AcceptAsync(World.UnhandledDelivery(person));

        Assert.Equal((IntakeStatus.Ignored, 200), (result.Status, result.HttpStatus));
        Assert.Empty(await QueuedAsync());
        Assert.Equal(new Dictionary<string, long> { ["Ignored"] = 1 }, meter.Counted(World.Kind));
    }

    [Fact]
    public async Task DeliveryWhoseBodyWasChanged_IsRefused401_AndNothingIsQueued()
    {
        var delivery = World.BuildDelivery(NewTicket());
        var tampered = (byte[])delivery.Body.Clone();
        tampered[^2] ^= 1;

        var result = await AcceptAsync(delivery with { Body = tampered });

        Assert.Equal((IntakeStatus.Unauthorized, 401), (result.Status, result.HttpStatus));
        Assert.Empty(await QueuedAsync());
    }

    protected string NewTicket()
    {
        var ada = World.AddPerson("Ada Lovelace", "ada@contoso.example");
        return World.CreateAccessRequest(ada, ada, new RequestShape("finance-reports-read", "Quarter-end reporting for the EMEA ledger", new DateOnly(2026, 12, 31)));
    }

    /// <summary>Intake takes <paramref name="delivery"/> (over <paramref name="ledger"/> and with <paramref name="signal"/>'s consumer, when given).</summary>
    protected Task<IntakeResult> AcceptAsync(ContractDelivery delivery, IDeliveryLedger? ledger = null, IWorkSignal? signal = null) =>
        Intake(ledger, signal).AcceptAsync(World.Kind, delivery.Header, delivery.Header("Content-Type"), delivery.Body, default);

    /// <summary>Intake as the hosts build it for this system, over the real ledger and queue (or <paramref name="ledger"/>), with no consumer in process (or <paramref name="signal"/>'s).</summary>
    protected WebhookIntake Intake(IDeliveryLedger? ledger = null, IWorkSignal? signal = null, Action<IntakeOptions>? configure = null)
    {
        var options = World.IntakeOptions();
        configure?.Invoke(options);
        return new WebhookIntake(ledger ?? Storage.Get<IDeliveryLedger>(), Storage.Get<IWorkQueue>(), signal ?? new NoSignal(), options, Clock, NullLogger<WebhookIntake>.Instance);
    }

    /// <summary>The ticket keys of the work items on the queue, oldest first.</summary>
    protected async Task<IReadOnlyList<string>> QueuedAsync()
    {
        var messages = await Storage.RawQueue().PeekMessagesAsync(32);
        return messages.Value.Select(m => WorkMessage.ParseMessage(WorkMessage.DecodeBase64(m.MessageText))!.TicketKey).ToList();
    }

    private StorageScope Storage => _storage ?? throw new InvalidOperationException("Storage is not ready.");

    /// <summary>A consumer in process with one free slot, which <paramref name="claim"/> takes.</summary>
    private sealed class OneClaim(NotedClaim claim) : IWorkSignal
    {
        private int _taken;

        public void Notify()
        {
        }

        public IWorkClaim? TryClaim() => Interlocked.Exchange(ref _taken, 1) == 0 ? claim : null;
    }

    /// <summary>A processing slot that notes what intake did with its item (queued, then started or taken back).</summary>
    private sealed class NotedClaim : IWorkClaim
    {
        public bool Queued { get; private set; }

        public bool Started { get; private set; }

        public bool Withdrawn { get; private set; }

        public Task QueueAsync(WorkItem item, CancellationToken cancellationToken)
        {
            Queued = true;
            return Task.CompletedTask;
        }

        public Task WithdrawAsync(CancellationToken cancellationToken)
        {
            Withdrawn = true;
            return Task.CompletedTask;
        }

        public void Start() => Started = true;

        public void Dispose()
        {
        }
    }

    /// <summary>A ledger whose record of a queued delivery lands, and then its answer is lost.</summary>
    private sealed class AnswerLostAfterLanding(IDeliveryLedger inner) : IDeliveryLedger
    {
        public Task<DeliveryStatus> RecordAsync(TicketSystemKind system, string deliveryId, string ticketKey, CancellationToken cancellationToken) =>
            inner.RecordAsync(system, deliveryId, ticketKey, cancellationToken);

        public Task MarkQueuedAsync(TicketSystemKind system, string deliveryId, CancellationToken cancellationToken) =>
            inner.MarkQueuedAsync(system, deliveryId, cancellationToken);

        public async Task<DeliveryStatus> RecordQueuedAsync(TicketSystemKind system, string deliveryId, string ticketKey, CancellationToken cancellationToken)
        {
            await inner.RecordQueuedAsync(system, deliveryId, ticketKey, cancellationToken);
            throw new IOException("The connection was reset before the answer arrived (test).");
        }
    }

    /// <summary>Intake wakes the in-process consumer after a durable enqueue; there is none here.</summary>
    private sealed class NoSignal : IWorkSignal
    {
        public void Notify()
        {
        }
    }
}

public sealed class ServiceNowIntakeContractTests(AzuriteFixture azurite, ServiceNowContractWorld world) : IntakeContract<ServiceNowContractWorld>(azurite, world)
{
    [Theory]
    [InlineData(299, IntakeStatus.Duplicate)]
    [InlineData(301, IntakeStatus.Unauthorized)]
    public async Task TheBusinessRulesRetry_IsADuplicateUntilTheSignatureIsOlderThanMaxSignatureAge(int secondsLater, IntakeStatus expected)
    {
        var key = NewTicket();
        var delivery = World.BuildDelivery(key);
        await AcceptAsync(delivery);
        Clock.Advance(TimeSpan.FromSeconds(secondsLater));

        var retry = await AcceptAsync(World.Redelivery(delivery));

        Assert.Equal(expected, retry.Status);
        Assert.Equal([key], await QueuedAsync());
    }
}

public sealed class JiraIntakeContractTests(AzuriteFixture azurite, JiraContractWorld world) : IntakeContract<JiraContractWorld>(azurite, world)
{
    [Fact]
    public async Task RequestOfAnotherRequestTypeOnTheSameDesk_IsAcknowledgedIgnoredAndCounted()
    {
        using var meter = new IntakeMeter();
        var dave = World.AddPerson("Dennis Ritchie", "dennis@contoso.example");
        var key = World.Sandbox.CreateRequest(new JiraRequestSeed { ServiceDeskId = World.Desk.Id, RequestTypeId = World.LaptopRequest.Id, ReporterId = dave.ItsmId });

        var result = await AcceptAsync(World.BuildDelivery(key));

        Assert.Equal((IntakeStatus.Ignored, 200), (result.Status, result.HttpStatus));
        Assert.Contains("Jira:RequestTypeIds", result.Message, StringComparison.Ordinal);
        Assert.Empty(await QueuedAsync());
        Assert.Equal(new Dictionary<string, long> { ["Ignored"] = 1 }, meter.Counted(TicketSystemKind.Jira));
    }

    [Fact]
    public async Task RequestOnAnotherServiceDesk_IsIgnoredForTheDeskBeforeItsRequestType()
    {
        var frances = World.AddPerson("Frances Allen", "frances@contoso.example");

        var result = await AcceptAsync(World.UnhandledDelivery(frances));

        Assert.Equal(IntakeStatus.Ignored, result.Status);
        Assert.Contains("Jira:ServiceDeskIds", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpdateCausedByTheIntegrationAccount_IsIgnoredAndCounted_WhileTheCustomersReplyIsTaken()
    {
        using var meter = new IntakeMeter();
        var ada = World.AddPerson("Ada Lovelace", "ada@contoso.example");
        var key = World.CreateAccessRequest(ada, ada, new RequestShape("finance-reports-read", "Quarter-end reporting for the EMEA ledger", new DateOnly(2026, 12, 31)));
        var connector = World.Connector();
        var ticket = await connector.ReadAsync(key, default);
        await connector.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.NeedsInfo, CustomerComment = "Please add an end date.", Marker = "[iamf:r1:needsinfo]" }, default);

        var own = await AcceptAsync(World.BuildDelivery(key));
        World.Sandbox.AddComment(key, ada.ItsmId, "The end date is 31 December.");
        var reply = await AcceptAsync(World.BuildDelivery(key));

        Assert.Equal((IntakeStatus.Ignored, 200), (own.Status, own.HttpStatus));
        Assert.Contains("service's own update", own.Message, StringComparison.Ordinal);
        Assert.Equal(IntakeStatus.Accepted, reply.Status);
        Assert.Equal([key], await QueuedAsync());
        Assert.Equal(new Dictionary<string, long> { ["Ignored"] = 1, ["Accepted"] = 1 }, meter.Counted(TicketSystemKind.Jira));
    }

    [Fact]
    public async Task EventOtherThanIssueCreatedOrUpdated_IsAcknowledgedAndIgnored()
    {
        var delivery = World.Sandbox.BuildWebhook(NewTicket(), "jira:issue_deleted");

        var result = await AcceptAsync(new ContractDelivery(delivery.Body, delivery.Headers));

        Assert.Equal((IntakeStatus.Ignored, 200), (result.Status, result.HttpStatus));
        Assert.Empty(await QueuedAsync());
    }

    [Fact]
    public async Task FirstSeenAsJirasRetryAnHourLater_IsAccepted()
    {
        var key = NewTicket();
        var neverArrived = World.BuildDelivery(key);
        Clock.Advance(TimeSpan.FromHours(1));

        var retry = await AcceptAsync(World.Redelivery(neverArrived));

        Assert.Equal((IntakeStatus.Accepted, 202), (retry.Status, retry.HttpStatus));
        Assert.Equal([key], await QueuedAsync());
    }

    [Fact]
    public async Task DeliveryOlderThanMaxDeliveryAge_IsRefusedAsAReplay()
    {
        var delivery = World.BuildDelivery(NewTicket());
        Clock.Advance(TimeSpan.FromHours(49));

        var result = await AcceptAsync(delivery);

        Assert.Equal((IntakeStatus.Unauthorized, 401), (result.Status, result.HttpStatus));
        Assert.Empty(await QueuedAsync());
    }
}
