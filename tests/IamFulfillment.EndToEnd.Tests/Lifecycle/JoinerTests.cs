using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Processing;
using IamFulfillment.EndToEnd.Tests.Infrastructure;
using IamFulfillment.Sandbox.Demo;

namespace IamFulfillment.EndToEnd.Tests.Lifecycle;

/// <summary>Joiners wait at most a minute for HR provisioning here; the service re-checks every ten seconds (a sixth of the window).</summary>
public sealed class JoinerWorld : WorldFixture
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    protected override void EditPolicy(PolicyEditor policy) => policy.Set("joiner", "accountWaitMinutes", 1);
}

/// <summary>Issue 7: joiners through ServiceNow and Jira — birthright from the directory's attributes, waiting for a late account.</summary>
public sealed class JoinerTests(JoinerWorld f) : IClassFixture<JoinerWorld>
{
    [Theory]
    [InlineData(Itsm.ServiceNow)]
    [InlineData(Itsm.Jira)]
    public async Task Joiner_GetsTheBirthrightAccessOfTheDepartmentTheDirectoryNames(Itsm itsm)
    {
        var newcomer = f.World.NewEmployee("Engineering", "barbara");
        var ticket = Desk.For(itsm, f.World).Joiner(newcomer, requester: "hedy");

        var state = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.Fulfilled, state.Outcome);
        Assert.Equal(["engineering-team", "engineering-wiki"], f.World.DemoGroupsOf(newcomer));
        Assert.Equal(DeskStatus.Resolved, ticket.Status);
        Text.Contains($"{newcomer.DisplayName} has the birthright access for their role: Engineering team, Engineering wiki.", ticket.Comment);
        Text.Contains("Birthright roles from the directory's attributes (department Engineering", ticket.Note);
    }

    [Theory]
    [InlineData(Itsm.ServiceNow)]
    [InlineData(Itsm.Jira)]
    public async Task JoinerWhoseAccountAppearsLate_IsCheckedAgainByItselfAndFulfilled(Itsm itsm)
    {
        var hire = f.World.NewHire("Finance", "grace");
        var ticket = Desk.For(itsm, f.World).Joiner(hire, requester: "hedy");

        var first = await ticket.RunAsync(f.Host);
        Assert.Null(first.Outcome);
        Assert.Empty(ticket.CustomerComments);
        Assert.Contains(await f.Host.TrailAsync(ticket.Ref), e => e.Kind == AuditKinds.Waiting && e.Data["reason"]!.Contains("does not exist in the directory yet", StringComparison.Ordinal));

        f.World.ProvisionAccount(hire);
        await f.Host.WaitForEventAsync(ticket.Ref, e => e.Kind == AuditKinds.RoundCompleted, TimeSpan.FromSeconds(30));

        var state = await f.Host.Store.GetAsync(ticket.Ref, CancellationToken.None);
        Assert.Equal(Outcome.Fulfilled, state!.Outcome);
        var id = f.World.GraphIdOf(hire)!;
        Assert.True(f.World.Graph.IsMember(DemoOrganisation.Groups["finance-team"], id));
        Assert.True(f.World.Graph.IsMember(DemoOrganisation.Groups["finance-reports-read"], id));
        Text.Contains("has the birthright access for their role: Finance team, Finance reports (read).", ticket.Comment);
    }

    [Theory]
    [InlineData(Itsm.ServiceNow)]
    [InlineData(Itsm.Jira)]
    public async Task JoinerWhoseAccountNeverAppears_IsAskedAboutOnceTheWindowHasPassed(Itsm itsm)
    {
        var hire = f.World.NewHire("Finance", "grace");
        var ticket = Desk.For(itsm, f.World).Joiner(hire, requester: "hedy");

        var first = await ticket.RunAsync(f.Host);
        Assert.Equal(RoundPhase.Idle, first.Phase);

        // The window (one minute) passes; the check the service queued for itself finds no account still.
        f.Clock.Advance(JoinerWorld.Window + TimeSpan.FromSeconds(5));
        await f.Host.WaitForEventAsync(ticket.Ref, e => e.Kind == AuditKinds.RoundCompleted, TimeSpan.FromSeconds(30));

        var state = await f.Host.Store.GetAsync(ticket.Ref, CancellationToken.None);
        Assert.Equal(Outcome.NeedsInfo, state!.Outcome);
        Assert.Equal(DeskStatus.AwaitingCustomer, ticket.Status);
        Text.Contains($"No directory account has the email address of {hire.Name} ({hire.Email})", ticket.Comment);
        Assert.True((await f.Host.TrailAsync(ticket.Ref)).Count(e => e.Kind == AuditKinds.Waiting) >= 1);
    }
}
