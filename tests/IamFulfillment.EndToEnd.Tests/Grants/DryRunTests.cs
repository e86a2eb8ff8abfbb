using IamFulfillment.Core.Decisions;
using IamFulfillment.EndToEnd.Tests.Infrastructure;

namespace IamFulfillment.EndToEnd.Tests.Grants;

/// <summary>Issue 3: shadow mode, for one entitlement (policy) or for everything (<c>Processing:DryRun</c>): an internal note only.</summary>
public sealed class DryRunTests(GrantWorld f) : IClassFixture<GrantWorld>
{
    [Fact]
    public async Task EntitlementInShadowMode_WritesTheWouldBeDecisionAsAnInternalNoteAndChangesNothing()
    {
        var ada = f.World.NewEmployee("Finance", "grace");
        var changes = new ChangeWatch(f.World.Graph);
        var ticket = f.ServiceNow.Grant(ada, "finance-forecasts").ApprovedBy("grace");

        var state = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.Fulfilled, state.Outcome);
        AssertShadowWriteBack(ticket, "Fulfilled (rule fulfil.auto)");
        Text.Contains($"Would change in the directory:\n- add {ada.GraphId} to group Finance forecasts", ticket.Note);
        Assert.False(f.World.Graph.IsMember(GrantWorld.ForecastsGroup, ada.GraphId));
        Assert.Equal(0, changes.Made.DirectoryChanges);
    }

    [Fact]
    public async Task GlobalDryRun_EvaluatesGrantsAndLeaversAndChangesNothing()
    {
        await using var shadow = await f.StartAnotherHostAsync(s => s["Processing:DryRun"] = "true");
        var ada = f.World.NewEmployee("Finance", "grace");
        var dennis = f.World.NewEmployee("Engineering", "barbara", "engineering-team");
        var changes = new ChangeWatch(f.World.Graph);
        var grant = f.ServiceNow.Grant(ada, "finance-reports-read").ApprovedBy("grace");
        var leaver = f.ServiceNow.Leaver(dennis);

        Assert.Equal(Outcome.Fulfilled, (await grant.RunAsync(shadow)).Outcome);
        Assert.Equal(Outcome.Fulfilled, (await leaver.RunAsync(shadow)).Outcome);

        AssertShadowWriteBack(grant, "Fulfilled (rule fulfil.auto)");
        AssertShadowWriteBack(leaver, "Fulfilled (rule fulfil.auto)");
        Text.Contains($"- disable sign-in for {dennis.GraphId}", leaver.Note);
        Text.Contains($"- remove {dennis.GraphId} from group engineering-team", leaver.Note);
        Assert.Equal(0, changes.Made.DirectoryChanges);
        Assert.True(f.World.Account(dennis).AccountEnabled);
        Assert.True(f.World.Holds(dennis, "engineering-team"));
    }

    /// <summary>An internal note with the would-be decision; no customer comment; the item's state as it was.</summary>
    private static void AssertShadowWriteBack(DeskTicket ticket, string wouldBe)
    {
        Assert.Empty(ticket.CustomerComments);
        Assert.StartsWith($"DRY RUN (shadow mode) — the service would have decided: {wouldBe}.", ticket.Note, StringComparison.Ordinal);
        Assert.Equal(DeskStatus.Open, ticket.Status);
    }
}
