using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using IamFulfillment.Core.Intake;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using IamFulfillment.Sandbox.Jira;
using Microsoft.Extensions.Logging.Abstractions;

namespace IamFulfillment.Connectors.Tests.Jira;

public sealed class JiraWebhookTests : IDisposable
{
    private readonly JiraWorld _world = new();

    public void Dispose() => _world.Dispose();

    [Fact]
    public void Sign_AtlassianTestVector_MatchesThePublishedSignature()
    {
        var signature = JiraSandbox.Sign("It's a Secret to Everybody", Encoding.UTF8.GetBytes("Hello World!"));

        Assert.Equal("sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9", signature);
        Assert.Equal(SignatureCheck.Valid, Signatures.VerifyJira(["It's a Secret to Everybody"], signature, Encoding.UTF8.GetBytes("Hello World!")));
    }

    [Fact]
    public void BuildWebhook_Signature_VerifiesWithTheCoreVerifierOverTheExactBytes()
    {
        var key = _world.CreateAccessRequest();

        var delivery = _world.Sandbox.BuildWebhook(key, "jira:issue_created");

        Assert.Equal(SignatureCheck.Valid, Signatures.VerifyJira([_world.Sandbox.Options.WebhookSecret], delivery.Headers["X-Hub-Signature"], delivery.Body));
        Assert.Equal(SignatureCheck.Mismatch, Signatures.VerifyJira(["another secret"], delivery.Headers["X-Hub-Signature"], delivery.Body));
        var tampered = (byte[])delivery.Body.Clone();
        tampered[^2] ^= 1;
        Assert.Equal(SignatureCheck.Mismatch, Signatures.VerifyJira([_world.Sandbox.Options.WebhookSecret], delivery.Headers["X-Hub-Signature"], tampered));
        Assert.Equal("application/json", delivery.Headers["Content-Type"]);
        Assert.False(delivery.Headers.ContainsKey("X-Atlassian-Webhook-Retry"));
    }

    [Fact]
    public void BuildWebhook_IssueUpdated_CarriesTheDocumentedEnvelopeWithoutEmails()
    {
        var key = _world.CreateAccessRequest();
        _world.Sandbox.EditFields(key, _world.Bob.AccountId, new Dictionary<string, object?> { [JiraWorld.EndDate] = new DateOnly(2027, 1, 31) });

        var body = JsonNode.Parse(_world.Sandbox.BuildWebhook(key).Body)!;

        Assert.Equal("jira:issue_updated", body["webhookEvent"]!.GetValue<string>());
        Assert.Equal("issue_updated", body["issue_event_type_name"]!.GetValue<string>());
        Assert.True(body["timestamp"]!.GetValue<long>() > 1_700_000_000_000);
        Assert.Equal(_world.Bob.AccountId, body["user"]!["accountId"]!.GetValue<string>());
        Assert.Null(body["user"]!["emailAddress"]);
        Assert.Equal(key, body["issue"]!["key"]!.GetValue<string>());
        Assert.EndsWith("/rest/api/2/issue/" + body["issue"]!["id"]!.GetValue<string>(), body["issue"]!["self"]!.GetValue<string>(), StringComparison.Ordinal);
        var requestType = body["issue"]!["fields"]!["customfield_10010"]!["requestType"]!;
        Assert.Equal(_world.AccessRequest.Id, requestType["id"]!.GetValue<string>());
        Assert.Equal(_world.Desk.Id, requestType["serviceDeskId"]!.GetValue<string>());
        Assert.Equal("Quarter-end reporting for the finance team", body["issue"]!["fields"]![JiraWorld.Justification]!.GetValue<string>()); // REST v2: wiki text, not ADF
        var item = body["changelog"]!["items"]![0]!;
        Assert.Equal(JiraWorld.EndDate, item["fieldId"]!.GetValue<string>());
        Assert.Equal("2027-01-31", item["toString"]!.GetValue<string>());
    }

    [Fact]
    public void BuildWebhook_Retry_IsTheSameDeliveryWithARetryCount()
    {
        var key = _world.CreateAccessRequest();
        var first = _world.Sandbox.BuildWebhook(key);

        var retry = _world.Sandbox.BuildWebhook(key, identifier: first.Identifier, retry: 1);

        Assert.Equal(first.Identifier, retry.Identifier);
        Assert.Equal("1", retry.Headers["X-Atlassian-Webhook-Retry"]);
        Assert.NotEqual(first.Identifier, _world.Sandbox.BuildWebhook(key).Identifier);
    }

    [Fact]
    public async Task BuildWebhook_ThroughTheCoreIntake_IsAcceptedOnceAndFilteredByRequestType()
    {
        var key = _world.CreateAccessRequest();
        var queue = new ListQueue();
        var intake = new WebhookIntake(new MemoryLedger(), queue, new NoSignal(), new IntakeOptions
        {
            JiraSecrets = [_world.Sandbox.Options.WebhookSecret],
            JiraServiceDeskIds = [_world.Desk.Id],
            JiraRequestTypeIds = [_world.AccessRequest.Id],
        }, TimeProvider.System, NullLogger<WebhookIntake>.Instance);
        var delivery = _world.Sandbox.BuildWebhook(key);

        var accepted = await Accept(intake, delivery);
        var duplicate = await Accept(intake, _world.Sandbox.BuildWebhook(key, identifier: delivery.Identifier, retry: 1));
        var other = _world.Sandbox.CreateRequest(new JiraRequestSeed { ServiceDeskId = _world.Desk.Id, RequestTypeId = _world.RemoveAccess.Id, ReporterId = _world.Dave.AccountId });
        var ignored = await Accept(intake, _world.Sandbox.BuildWebhook(other));

        Assert.Equal(IntakeStatus.Accepted, accepted.Status);
        Assert.Equal(new TicketRef(TicketSystemKind.Jira, key), accepted.Ticket);
        Assert.Equal(delivery.Identifier, accepted.DeliveryId);
        Assert.Equal(IntakeStatus.Duplicate, duplicate.Status);
        Assert.Equal(IntakeStatus.Ignored, ignored.Status);
        Assert.Equal(key, Assert.Single(queue.Items).TicketKey);
    }

    private static Task<IntakeResult> Accept(WebhookIntake intake, JiraWebhookDelivery delivery) =>
        intake.AcceptAsync(TicketSystemKind.Jira, name => delivery.Headers.TryGetValue(name, out var value) ? value : null, delivery.Headers["Content-Type"], delivery.Body, CancellationToken.None);

    private sealed class MemoryLedger : IDeliveryLedger
    {
        private readonly ConcurrentDictionary<string, bool> _queued = new();

        public Task<DeliveryStatus> RecordAsync(TicketSystemKind system, string deliveryId, string ticketKey, CancellationToken cancellationToken) =>
            Task.FromResult(_queued.TryGetValue(deliveryId, out var queued) ? queued ? DeliveryStatus.AlreadyQueued : DeliveryStatus.NotYetQueued : Add(deliveryId));

        public Task MarkQueuedAsync(TicketSystemKind system, string deliveryId, CancellationToken cancellationToken)
        {
            _queued[deliveryId] = true;
            return Task.CompletedTask;
        }

        private DeliveryStatus Add(string deliveryId)
        {
            _queued[deliveryId] = false;
            return DeliveryStatus.New;
        }
    }

    private sealed class ListQueue : IWorkQueue
    {
        public ConcurrentQueue<WorkItem> Items { get; } = new();

        public Task EnqueueAsync(WorkItem item, TimeSpan? delay, CancellationToken cancellationToken)
        {
            Items.Enqueue(item);
            return Task.CompletedTask;
        }
    }

    private sealed class NoSignal : IWorkSignal
    {
        public void Notify()
        {
        }
    }
}
