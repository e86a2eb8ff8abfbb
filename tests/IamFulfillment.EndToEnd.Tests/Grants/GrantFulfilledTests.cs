using System.Globalization;
using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Processing;
using IamFulfillment.EndToEnd.Tests.Infrastructure;

namespace IamFulfillment.EndToEnd.Tests.Grants;

/// <summary>Issue 3: access requests the service carries out itself, through the ServiceNow connector and the sandbox directory.</summary>
public sealed class GrantFulfilledTests(GrantWorld f) : IClassFixture<GrantWorld>
{
    [Fact]
    public async Task StandardGrant_ApprovedByTheManager_IsAddedClosedCompleteAndSaysUntilWhen()
    {
        var ada = f.World.NewEmployee("Finance", "grace");
        var changes = new ChangeWatch(f.World.Graph);
        var ticket = f.ServiceNow.Grant(ada, "finance-reports-read", endInDays: 90).ApprovedBy("grace");

        var state = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.Fulfilled, state.Outcome);
        Assert.Equal(Rules.Fulfil, state.Rule);
        Assert.True(f.World.Holds(ada, "finance-reports-read"));
        Assert.Equal(1, changes.Made.MembershipsAdded);
        Assert.Equal(DeskStatus.Resolved, ticket.Status);
        var until = f.World.ServiceNow.Time.GetUtcNow().AddDays(90).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        Text.Contains($"{ada.DisplayName} now has access to Finance reports (read) until {until} (it is removed automatically then)", ticket.Comment);
        Text.Contains("FULFILLED automatically (rule fulfil.auto)", ticket.Note);
        Text.Contains("The target's manager: approved by Grace Hopper", ticket.Note);
        Text.Contains($"add {ada.GraphId} to group Finance reports (read) ({GrantWorld.Group("finance-reports-read")}): done", ticket.Note);
        Text.Contains("Graph request-id", ticket.Note);
        var trail = await f.Host.TrailAsync(ticket.Ref);
        Assert.Empty(AuditChain.Verify(trail));
        Assert.Contains(trail, e => e.Kind == AuditKinds.ChangeApplied && e.Data["status"] == "Applied");
        Assert.Contains(trail, e => e.Kind == AuditKinds.Decision && e.Data["policy"]!.StartsWith("sha256:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Grant_FinishedByARetryAfterTheMemberWasAdded_TellsTheRequesterWhatWasGranted()
    {
        // The write-back's record cannot be stored, which the run learns only after the member is added: it stops
        // without telling the ticket, and the retry skips the add it finds done. The ticket still hears what it got.
        var ada = f.World.NewEmployee("Finance", "grace");
        var changes = new ChangeWatch(f.World.Graph);
        var ticket = f.ServiceNow.Grant(ada, "finance-reports-read").ApprovedBy("grace");
        await using var host = await HostUnderTest.StartAsync(f.World, services: s => s.WrapTicketStore(inner =>
            new HoldsOneSave(inner, state => state.Phase == RoundPhase.WritingBack, thenFail: true)));
        var state = await ticket.RunHoldingASaveAsync(host, async () =>
        {
            await Eventually.HoldsAsync(() => f.World.Holds(ada, "finance-reports-read"), "the member was not added while the write-back's record was being stored");
        });

        Assert.Equal(Outcome.Fulfilled, state.Outcome);
        Assert.Equal(1, changes.Made.MembershipsAdded);
        Text.Contains($"{ada.DisplayName} now has access to Finance reports (read).", ticket.Comment);
        Text.Contains($"add {ada.GraphId} to group Finance reports (read) ({GrantWorld.Group("finance-reports-read")}): done by an earlier run of this round", ticket.Note);
    }

    [Fact]
    public async Task SeveralEntitlements_AreAllAddedInOneRoundWithOneCommentAndOneNote()
    {
        var alan = f.World.NewEmployee("Finance", "grace");
        var ticket = f.ServiceNow.Grant(alan, "finance-reports-read, engineering-wiki").ApprovedBy("grace");

        var state = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.Fulfilled, state.Outcome);
        Assert.True(f.World.Holds(alan, "finance-reports-read"));
        Assert.True(f.World.Holds(alan, "engineering-wiki"));
        Text.Contains("now has access to Finance reports (read), Engineering wiki", ticket.Comment);
        Text.Contains("Request: AccessGrant: Finance reports (read) [finance-reports-read, standard], Engineering wiki [engineering-wiki, standard]", ticket.Note);
    }

    [Fact]
    public async Task PrivilegedGrant_WithEveryStageAndASecurityApprover_IsCarriedOutAndRecordsWhoDecided()
    {
        var edsger = f.World.NewEmployee("Engineering", "barbara");
        var ticket = f.ServiceNow.Grant(edsger, "prod-admins", endInDays: 7).ApprovedBy("barbara").ApprovedBy("margaret").ApprovedBy("katherine");

        var state = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.Fulfilled, state.Outcome);
        Assert.Equal(Rules.FulfilByDecision, state.Rule);
        Assert.True(f.World.Holds(edsger, "prod-admins"));
        Assert.Equal(DeskStatus.Resolved, ticket.Status);
        Text.Contains("Decided by: Katherine Johnson (security approval in the ticket).", ticket.Note);
        Text.Contains("Security approval by Katherine Johnson", ticket.Note);
        var decision = Assert.Single(await f.Host.TrailAsync(ticket.Ref), e => e.Kind == AuditKinds.Decision);
        Assert.Equal("Katherine Johnson", decision.Data["decidedBy"]);
    }

    [Fact]
    public async Task EscalatedPrivilegedGrant_LaterApprovedByASecurityApprover_IsFulfilledOnTheNextWebhook()
    {
        var engineer = f.World.NewEmployee("Engineering", "barbara");
        var ticket = f.ServiceNow.Grant(engineer, "prod-admins", endInDays: 14).ApprovedBy("barbara").ApprovedBy("margaret");

        var first = await ticket.RunAsync(f.Host);
        Assert.Equal(Outcome.Escalated, first.Outcome);
        Assert.Equal(Rules.TierPrivileged, first.Rule);
        Assert.False(f.World.Holds(engineer, "prod-admins"));

        ticket.ApprovedBy("katherine", at: f.World.ServiceNow.Time.GetUtcNow());
        var second = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.Fulfilled, second.Outcome);
        Assert.Equal(Rules.FulfilByDecision, second.Rule);
        Assert.NotEqual(first.Round, second.Round);
        Assert.True(f.World.Holds(engineer, "prod-admins"));
        Assert.Equal(DeskStatus.Resolved, ticket.Status);
        Assert.Equal(2, ticket.CustomerComments.Count);
        Text.Contains("now has access to Production administrators", ticket.CustomerComments[1]);
        Text.Contains("Decided by: Katherine Johnson", ticket.InternalNotes[1]);
    }

    [Fact]
    public async Task RequesterFixesTheTicketAfterNeedsInfo_AndTheManagerApproves_IsCheckedAgainAndFulfilled()
    {
        var ken = f.World.NewEmployee("Finance", "grace");
        var ticket = f.ServiceNow.Grant(ken, "finance-reports-read", justification: "n/a");

        var first = await ticket.RunAsync(f.Host);
        Assert.Equal(Outcome.NeedsInfo, first.Outcome);
        Assert.Equal(DeskStatus.AwaitingCustomer, ticket.Status);

        ticket.Change("business_justification", "Prepare the quarterly variance analysis for the board", by: ken.Key);
        ticket.ApprovedBy("grace", at: f.World.ServiceNow.Time.GetUtcNow());
        var second = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.Fulfilled, second.Outcome);
        Assert.True(f.World.Holds(ken, "finance-reports-read"));
        Assert.Equal(DeskStatus.Resolved, ticket.Status);
        Text.Contains("placeholder", ticket.CustomerComments[0]);
        Text.Contains("now has access to Finance reports (read)", ticket.CustomerComments[1]);
    }

    [Fact]
    public async Task ApprovedRequestWithAPlaceholderJustification_FixedByTheRequester_NeedsNoNewApproval()
    {
        // The justification is not one of the request's material inputs (entitlement, target, dates): improving it
        // after the manager approved does not make the approval stale.
        var frances = f.World.NewEmployee("Finance", "grace");
        var ticket = f.ServiceNow.Grant(frances, "finance-reports-read", justification: "need access").ApprovedBy("grace");

        Assert.Equal(Outcome.NeedsInfo, (await ticket.RunAsync(f.Host)).Outcome);
        ticket.Change("business_justification", "Reconcile the supplier ledger for the year-end audit", by: frances.Key);
        var second = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.Fulfilled, second.Outcome);
        Assert.True(f.World.Holds(frances, "finance-reports-read"));
    }

    [Fact]
    public async Task FulfilledItemReopenedByAPerson_IsProcessedInANewRound()
    {
        var lin = f.World.NewEmployee("Finance", "grace");
        var ticket = f.ServiceNow.Grant(lin, "finance-reports-read").ApprovedBy("grace");
        var first = await ticket.RunAsync(f.Host);
        Assert.Equal(Outcome.Fulfilled, first.Outcome);
        var changes = new ChangeWatch(f.World.Graph);

        ticket.SetState("1", by: lin.Key);
        var second = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.Fulfilled, second.Outcome);
        Assert.NotEqual(first.Round, second.Round);
        Assert.Equal(1, second.Reopened);
        Assert.Equal(DeskStatus.Resolved, ticket.Status);
        Assert.Equal(2, ticket.CustomerComments.Count);
        Assert.Equal(0, changes.Made.DirectoryChanges); // the membership is there already: recorded as a no-op
        Text.Contains("already holds Finance reports (read); the grant is recorded as a no-op", ticket.InternalNotes[1]);
        var trail = await f.Host.TrailAsync(ticket.Ref);
        Assert.Contains(trail, e => e.Kind == AuditKinds.ProcessingStarted && e.Round == second.Round && e.Data.GetValueOrDefault("reopened") == "true");
        Assert.Equal(RoundPhase.Completed, second.Phase);
    }
}
