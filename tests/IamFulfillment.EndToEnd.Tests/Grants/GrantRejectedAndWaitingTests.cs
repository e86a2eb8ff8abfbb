using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Processing;
using IamFulfillment.EndToEnd.Tests.Infrastructure;

namespace IamFulfillment.EndToEnd.Tests.Grants;

/// <summary>Issue 3: rejections close the item with the reason; a pending approval writes nothing and is audited.</summary>
public sealed class GrantRejectedAndWaitingTests(GrantWorld f) : IClassFixture<GrantWorld>
{
    [Fact]
    public async Task ManagerRejectsTheItem_ItIsClosedIncompleteWithTheApproversReason()
    {
        var ada = f.World.NewEmployee("Finance", "grace");
        var ticket = f.ServiceNow.Grant(ada, "finance-reports-read").RejectedBy("grace", "Not needed for your role");

        var comment = await RejectedAsync(ticket, Rules.ApprovalRejected);

        Text.Contains("Grace Hopper rejected the request: \"Not needed for your role\".", comment);
    }

    [Fact]
    public async Task RejectionOnTheParentRequest_RejectsTheItem()
    {
        var ada = f.World.NewEmployee("Finance", "grace");
        var ticket = f.ServiceNow.Grant(ada, "finance-reports-read").ApprovedBy("grace").ParentRejectedBy("margaret", "Budget freeze this quarter");

        var comment = await RejectedAsync(ticket, Rules.ApprovalRejected);

        Text.Contains("Margaret Hamilton rejected the request on the parent request: \"Budget freeze this quarter\".", comment);
    }

    [Fact]
    public async Task ServiceAccountTarget_IsRejected()
    {
        var ticket = f.ServiceNow.Grant(f.Demo["svc-backup"], "finance-reports-read", requester: "lynn").ApprovedBy("margaret");

        var comment = await RejectedAsync(ticket, Rules.TargetProtected);

        Text.Contains("Access is not granted to shared, service or break-glass accounts", comment);
        Assert.False(f.World.Holds(f.Demo["svc-backup"], "finance-reports-read"));
    }

    [Fact]
    public async Task GuestTarget_ForAnEntitlementNotOpenToGuests_IsRejected()
    {
        var guest = f.World.NewEmployee("Finance", "grace").InDirectory(f.World, u => u.UserType = "Guest");
        var ticket = f.ServiceNow.Grant(guest, "finance-reports-read", endInDays: 30).ApprovedBy("grace");

        var comment = await RejectedAsync(ticket, Rules.TargetGuestNotAllowed);

        Text.Contains("Finance reports (read) is not available to guest accounts.", comment);
    }

    [Fact]
    public async Task ApprovalStillRequested_WritesNothingButRecordsTheWait()
    {
        var ada = f.World.NewEmployee("Finance", "grace");
        var ticket = f.ServiceNow.Grant(ada, "finance-reports-read").AwaitingApprovalFrom("grace");
        var changes = new ChangeWatch(f.World.Graph);

        var state = await ticket.RunAsync(f.Host);

        Assert.Null(state.Outcome);
        Assert.Equal(RoundPhase.Idle, state.Phase);
        var waiting = Assert.Single(await f.Host.TrailAsync(ticket.Ref), e => e.Kind == AuditKinds.Waiting);
        Text.Contains("approval requested from Grace Hopper is still pending", waiting.Data["reason"]);
        Assert.Empty(ticket.CustomerComments);
        Assert.Empty(ticket.InternalNotes);
        Assert.Equal("1", ticket.State);
        Assert.Equal(0, f.World.ServiceNow.CallCount("PATCH", ticket.SysId));
        Assert.Equal(0, changes.Made.DirectoryChanges);
    }

    private async Task<string> RejectedAsync(ServiceNowTicket ticket, string rule)
    {
        var changes = new ChangeWatch(f.World.Graph);
        var state = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.Rejected, state.Outcome);
        Assert.Equal(rule, state.Rule);
        Assert.Equal("4", ticket.State);
        Assert.Equal(0, changes.Made.DirectoryChanges);
        Text.Contains($"REJECTED (rule {rule})", ticket.Note);
        Assert.StartsWith($"Request {ticket.Number} was not fulfilled: ", ticket.Comment, StringComparison.Ordinal);
        return ticket.Comment;
    }
}
