using IamFulfillment.Core.Model;
using IamFulfillment.Core.Processing;
using IamFulfillment.Sandbox.Demo;
using Microsoft.Extensions.DependencyInjection;

namespace IamFulfillment.EndToEnd.Tests;

/// <summary>
/// A run reads the ticket while it takes the ticket's lease. That read counts only when no earlier run can have
/// written back after it began: for a ticket the service has never seen, or whose state was written long enough ago.
/// </summary>
public sealed class EarlyReadTests : IAsyncLifetime
{
    private Scenario _s = null!;

    public async Task InitializeAsync() =>
        _s = await Scenario.StartAsync(options: new SandboxWorldOptions { WithJira = false });

    public async Task DisposeAsync() => await _s.DisposeAsync();

    [Fact]
    public async Task TicketNeverSeenBefore_IsReadOnce()
    {
        var ritm = _s.Demo.ServiceNowTicket(DemoRequest.AccessGrant, "ada", "ada");
        var ticket = new TicketRef(TicketSystemKind.ServiceNow, ritm.SysId);

        await _s.Host.DeliverAsync(ticket, () => _s.Host.SendAsync(_s.World.ServiceNow.BuildWebhook(ritm.SysId)));

        Assert.Equal(1, ItemReads(ritm.SysId));
    }

    [Fact]
    public async Task TicketWhoseStateWasJustWritten_IsReadAgainUnderTheLease()
    {
        // The state row was written moments ago (by the first run's write-back record): a read begun before the lease
        // could predate a write-back, so it is dropped and the ticket read again.
        var ritm = _s.Demo.ServiceNowTicket(DemoRequest.AccessGrant, "ada", "ada");
        var ticket = new TicketRef(TicketSystemKind.ServiceNow, ritm.SysId);
        await _s.Host.DeliverAsync(ticket, () => _s.Host.SendAsync(_s.World.ServiceNow.BuildWebhook(ritm.SysId)));
        _s.World.ServiceNow.ResetCalls();

        await _s.Host.DeliverAsync(ticket, () => _s.Host.SendAsync(_s.World.ServiceNow.BuildWebhook(ritm.SysId)));

        Assert.Equal(2, ItemReads(ritm.SysId));
    }

    [Fact]
    public async Task ReadStartedWhileTheItemIsQueued_IsTakenOverByTheRun_AndTheTicketIsReadOnce()
    {
        // Intake starts a handed-over ticket's read before the item is durably queued; the run then takes that read
        // over instead of starting its own.
        var ritm = _s.Demo.ServiceNowTicket(DemoRequest.AccessGrant, "ada", "ada");
        var item = new WorkItem { System = TicketSystemKind.ServiceNow, TicketKey = ritm.SysId, DeliveryId = "read-ahead-1" };
        var processor = _s.Host.App.Services.GetRequiredService<TicketProcessor>();
        var hold = _s.World.ServiceNow.Holds.Add("GET", $"/sc_req_item/{ritm.SysId}");

        using var ahead = processor.StartReading(item);
        await hold.Arrived.WaitAsync(TimeSpan.FromSeconds(30)); // in flight before any run exists
        var run = processor.ProcessAsync(item, ahead, CancellationToken.None);
        hold.Release();
        await run;

        var state = await _s.Host.WaitForRoundAsync(item.Ticket);
        Assert.Equal(RoundPhase.Completed, state.Phase);
        Assert.Equal(1, ItemReads(ritm.SysId));
    }

    private int ItemReads(string sysId) => _s.World.ServiceNow.CallCount("GET", $"/api/now/table/sc_req_item/{sysId}");
}
