using IamFulfillment.Core.Ports;

namespace IamFulfillment.Connectors.Tests.ServiceNow;

/// <summary>
/// Reconciliation's search on ServiceNow beyond the contract: the service's own updates do not count, an approval
/// decided on the item or on the request above it finds the item (an approval does not always touch the item), and
/// only the catalog items in scope are searched (none without a scope).
/// </summary>
public sealed class ServiceNowFindChangedTests
{
    private static readonly DateTimeOffset T0 = ServiceNowTestHost.T0;

    private static ServiceNowTestHost Start() => ServiceNowTestHost.Start(s => s["ServiceNow:ReconciliationQuery"] = "cat_item.name=Access Request");

    [Fact]
    public async Task FindChanged_AnItemLastUpdatedByTheIntegrationUser_IsNotFound()
    {
        using var host = Start();
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
        using var host = Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org);
        host.Sandbox.AddApproval(onTheParentRequest ? ritm.RequestSysId : ritm.SysId, org.Carol, "approved", decidedAt: T0.AddHours(2), createdAt: T0);

        var changes = await host.TicketSystem.FindChangedAsync(T0.AddHours(1), 50, default);

        var change = Assert.Single(changes);
        Assert.Equal(ritm.SysId, change.Key);
        Assert.Equal(T0.AddHours(2), change.ChangedAt);
    }

    [Fact]
    public async Task FindChanged_AVariableARequesterChangedSince_FindsItsItem_AndOneTheServiceChangedDoesNot()
    {
        using var host = Start();
        var org = host.SeedOrg();
        var answered = host.SeedGrant(org);
        var ours = host.SeedGrant(org);
        host.Sandbox.UpdateVariable(answered.SysId, "business_justification", "Quarter-end reporting for the EMEA ledger", "alice", T0.AddHours(2));
        host.Sandbox.UpdateVariable(ours.SysId, "business_justification", "Set by the integration", host.Sandbox.Options.IntegrationUserName, T0.AddHours(2));

        var changes = await host.TicketSystem.FindChangedAsync(T0.AddHours(1), 50, default);

        Assert.Equal(new TicketChange(answered.SysId, T0.AddHours(2)), Assert.Single(changes));
    }

    [Fact]
    public async Task FindChanged_OnlyItemsOfTheCatalogItemsInScope_AndNoneWithoutAScope()
    {
        using var byName = ServiceNowTestHost.Start(s => s["ServiceNow:CatalogItems:Access Request"] = "AccessGrant");
        var org = byName.SeedOrg();
        var ours = byName.SeedGrant(org);
        var laptop = byName.Sandbox.AddRitm(new Sandbox.ServiceNow.RitmSeed { CatalogItem = byName.Sandbox.AddCatalogItem("Laptop"), RequestedFor = org.Bob, OpenedBy = org.Alice });
        using var unscoped = ServiceNowTestHost.Start();
        unscoped.SeedGrant(unscoped.SeedOrg());

        var changes = await byName.TicketSystem.FindChangedAsync(T0.AddMinutes(-1), 50, default);
        var none = await unscoped.TicketSystem.FindChangedAsync(T0.AddMinutes(-1), 50, default);

        Assert.Equal(ours.SysId, Assert.Single(changes).Key);
        Assert.NotEqual(laptop.SysId, changes[0].Key);
        Assert.Empty(none);
        Assert.Empty(unscoped.Sandbox.Calls);
    }
}
