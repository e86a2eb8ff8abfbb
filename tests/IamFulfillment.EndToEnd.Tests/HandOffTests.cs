using System.Net;
using Azure.Storage.Queues;
using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Processing;
using IamFulfillment.Sandbox;
using IamFulfillment.Sandbox.Demo;
using Microsoft.Extensions.DependencyInjection;

namespace IamFulfillment.EndToEnd.Tests;

/// <summary>
/// Intake hands a webhook's work item straight to a free processing slot of the standalone host: the item is still
/// queued first (hidden for this host), so nothing depends on the hand-over, and the queue is left empty afterwards.
/// </summary>
public sealed class HandOffTests : IAsyncLifetime
{
    private Scenario _s = null!;

    public async Task InitializeAsync() =>
        _s = await Scenario.StartAsync(settings => settings["Processing:Concurrency"] = "1", options: new SandboxWorldOptions { WithJira = false });

    public async Task DisposeAsync() => await _s.DisposeAsync();

    private QueueClient Queue => _s.Host.App.Services.GetRequiredService<QueueClient>();

    [Fact]
    public async Task WebhookWithAFreeSlot_IsProcessedToTheEnd_AndLeavesNothingQueued()
    {
        var ritm = _s.Demo.ServiceNowTicket(DemoRequest.AccessGrant, "ada", "ada");
        var ticket = new TicketRef(TicketSystemKind.ServiceNow, ritm.SysId);

        var state = await _s.Host.DeliverAsync(ticket, () => _s.Host.SendAsync(_s.World.ServiceNow.BuildWebhook(ritm.SysId)));

        Assert.Equal(RoundPhase.Completed, state.Phase);
        await WaitForEmptyQueueAsync();
    }

    [Fact]
    public async Task DuplicateDelivery_ItsHeldMessageIsTakenBack_AndTheTicketIsProcessedOnce()
    {
        var ritm = _s.Demo.ServiceNowTicket(DemoRequest.AccessGrant, "ada", "ada");
        var ticket = new TicketRef(TicketSystemKind.ServiceNow, ritm.SysId);
        var webhook = _s.World.ServiceNow.BuildWebhook(ritm.SysId);
        await _s.Host.DeliverAsync(ticket, () => _s.Host.SendAsync(webhook));

        using var again = await _s.Host.SendAsync(webhook);

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Contains("Duplicate delivery", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await WaitForEmptyQueueAsync();
        Assert.Single(await _s.Host.TrailAsync(ticket), e => e.Kind == AuditKinds.ProcessingStarted);
    }

    [Fact]
    public async Task EverySlotBusy_TheNextWebhookIsQueuedAndReceived_AndBothComplete()
    {
        var first = _s.Demo.ServiceNowTicket(DemoRequest.AccessGrant, "ada", "ada");
        var second = _s.Demo.ServiceNowTicket(DemoRequest.AccessGrant, "grace", "grace");
        var hold = _s.World.ServiceNow.Holds.Add("PATCH", first.SysId, HoldPoint.BeforeHandling);
        using (var accepted = await _s.Host.SendAsync(_s.World.ServiceNow.BuildWebhook(first.SysId)))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        await hold.Arrived.WaitAsync(TimeSpan.FromSeconds(30));

        // The one slot is busy with the first ticket: the second is queued visible, for the consumer to receive.
        using (var queued = await _s.Host.SendAsync(_s.World.ServiceNow.BuildWebhook(second.SysId)))
        {
            Assert.Equal(HttpStatusCode.Accepted, queued.StatusCode);
        }

        var waiting = await Queue.PeekMessagesAsync(32);
        hold.Release();
        var firstState = await _s.Host.WaitForRoundAsync(new TicketRef(TicketSystemKind.ServiceNow, first.SysId));
        var secondState = await _s.Host.WaitForRoundAsync(new TicketRef(TicketSystemKind.ServiceNow, second.SysId));

        Assert.Single(waiting.Value);
        Assert.Equal((RoundPhase.Completed, RoundPhase.Completed), (firstState.Phase, secondState.Phase));
        await WaitForEmptyQueueAsync();
    }

    private async Task<int> QueuedAsync() => (await Queue.GetPropertiesAsync()).Value.ApproximateMessagesCount;

    /// <summary>The consumer deletes a message after its run has settled, so that comes a moment after the ticket's state.</summary>
    private async Task WaitForEmptyQueueAsync()
    {
        for (var i = 0; i < 100 && await QueuedAsync() > 0; i++)
        {
            await Task.Delay(50);
        }

        Assert.Equal(0, await QueuedAsync());
    }
}
