using IamFulfillment.Core.Decisions;
using IamFulfillment.EndToEnd.Tests.Infrastructure;
using IamFulfillment.Sandbox.Demo;

namespace IamFulfillment.EndToEnd.Tests.Lifecycle;

/// <summary>Issue 7: role changes through ServiceNow and Jira — the new birthright from the directory, the old one removed, sensitive access reviewed.</summary>
public sealed class MoverTests(DemoWorld f) : IClassFixture<DemoWorld>
{
    [Theory]
    [InlineData(Itsm.ServiceNow)]
    [InlineData(Itsm.Jira)]
    public async Task Mover_GetsTheNewDepartmentsBirthrightAndLosesTheOldOne(Itsm itsm)
    {
        // HR sync has already moved the person to Finance; they still hold the Engineering birthright.
        var ken = f.World.NewEmployee("Finance", "grace", "engineering-team", "engineering-wiki");
        var ticket = Desk.For(itsm, f.World).Mover(ken, requester: "hedy");

        var state = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.Fulfilled, state.Outcome);
        Assert.Equal(["finance-reports-read", "finance-team"], f.World.DemoGroupsOf(ken));
        Assert.Equal(DeskStatus.Resolved, ticket.Status);
        Text.Contains("access follows the new role. Added: Finance team, Finance reports (read). Removed: ", ticket.Comment);
        Text.Contains("Engineering team", ticket.Comment[ticket.Comment.IndexOf("Removed:", StringComparison.Ordinal)..]);
        Text.Contains("Engineering wiki", ticket.Comment[ticket.Comment.IndexOf("Removed:", StringComparison.Ordinal)..]);
    }

    [Theory]
    [InlineData(Itsm.ServiceNow)]
    [InlineData(Itsm.Jira)]
    public async Task MoverHoldingPrivilegedAccess_HasTheBirthrightChangedAndThePrivilegedAccessReviewedByAPerson(Itsm itsm)
    {
        var edsger = f.World.NewEmployee("Finance", "grace", "engineering-team", "engineering-wiki", "prod-admins");
        var changes = new ChangeWatch(f.World.Graph);
        var ticket = Desk.For(itsm, f.World).Mover(edsger, requester: "grace");

        var state = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.Escalated, state.Outcome);
        Assert.Equal(Rules.MoverKeepsSensitive, state.Rule);
        Assert.Equal(Queues.Privileged, ticket.Queue);
        Assert.Equal(["finance-reports-read", "finance-team", "prod-admins"], f.World.DemoGroupsOf(edsger));
        Assert.Equal(2, changes.Made.MembershipsAdded);
        Assert.Equal(2, changes.Made.MembershipsRemoved);
        Text.Contains("Part of the work was done already", ticket.Comment);
        Text.Contains("still holds sensitive or privileged access that needs review", ticket.Note);
        Text.Contains($"Production administrators (privileged, group {DemoOrganisation.Groups["prod-admins"]})", ticket.Note);
        Text.Contains("Done so far:", ticket.Note);
        Text.Contains("to group Finance team", ticket.Note);
        Text.Contains("from group Engineering wiki", ticket.Note);
    }
}
