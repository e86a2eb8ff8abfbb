namespace IamFulfillment.Connectors.Tests.ServiceNow;

/// <summary>
/// Reconciliation's search on ServiceNow beyond the contract: the service's own updates do not count, and an approval
/// decided on the item or on the request above it finds the item (an approval does not always touch the item).
/// </summary>
public sealed class ServiceNowFindChangedTests
{
    private static readonly DateTimeOffset T0 = ServiceNowTestHost.T0;

    [Fact]
    public async Task FindChanged_AnItemLastUpdatedByTheIntegrationUser_IsNotFound()
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org);
        host.Sandbox.UpdateRecord("sc_req_item", ritm.SysId, new Dictionary<string, string?> { ["work_notes"] = "written by the service" }, host.Sandbox.Options.IntegrationUserName, T0.AddHours(2));

        var changes = await host.TicketSystem.FindChangedAsync(T0.AddHours(1), 50, default);

        Assert.Empty(changes);
        host.Sandbox.UpdateRecord("sc_req_item", ritm.SysId, new Dictionary<string, string?> { ["comments"] = "any news?" }, "alice", T0.AddHours(3));
        Assert.Equal(T0.AddHours(3), Assert.Single(await host.TicketSystem.FindChangedAsync(T0.AddHours(1), 50, default)).ChangedAt);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task FindChanged_AnApprovalDecidedSince_FindsItsItem_AtTheDecision(bool onTheParentRequest)
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org);
        host.Sandbox.AddApproval(onTheParentRequest ? ritm.RequestSysId : ritm.SysId, org.Carol, "approved", decidedAt: T0.AddHours(2), createdAt: T0);

        var changes = await host.TicketSystem.FindChangedAsync(T0.AddHours(1), 50, default);

        var change = Assert.Single(changes);
        Assert.Equal(ritm.SysId, change.Key);
        Assert.Equal(T0.AddHours(2), change.ChangedAt);
    }
}
