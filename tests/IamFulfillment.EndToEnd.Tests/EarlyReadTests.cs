using IamFulfillment.Core.Model;
using IamFulfillment.Sandbox.Demo;

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

    private int ItemReads(string sysId) => _s.World.ServiceNow.CallCount("GET", $"/api/now/table/sc_req_item/{sysId}");
}
